import * as fs from "fs";
import { describe, expect, it } from "vitest";
import { fitsEnvFile } from "../../../components/docker/cliEnvironment";
import { withEnvironment } from "../../../components/docker/resource";

describe("withEnvironment", () => {
    it("writes one-line values to a private env-file and hands multi-line ones to the CLI's environment by name", async () => {
        const pem = "-----BEGIN KEY-----\nabc\n-----END KEY-----";
        const seen = await withEnvironment({ LOG_LEVEL: "info", KEY_PEM: pem, JSON: '{"a":\r\n1}' }, async ({ flags, cliEnv }) => {
            const envFile = flags[flags.indexOf("--env-file") + 1];
            return { flags, cliEnv, file: fs.readFileSync(envFile, "utf8"), mode: fs.statSync(envFile).mode & 0o777, envFile };
        });
        expect(seen.file).toBe("LOG_LEVEL=info\n");
        expect(seen.mode).toBe(0o600);
        expect(seen.flags).toEqual(["--env-file", seen.envFile, "--env", "KEY_PEM", "--env", "JSON"]);
        expect(seen.cliEnv).toEqual({ KEY_PEM: pem, JSON: '{"a":\r\n1}' });
        expect(fs.existsSync(seen.envFile)).toBe(false);
        expect(seen.flags.join(" ")).not.toContain("abc");
    });

    it("refuses a multi-line value under a name the docker CLI reads itself", async () => {
        await expect(withEnvironment({ DOCKER_HOST: "a\nb" }, async () => undefined)).rejects.toThrow(/DOCKER_HOST holds a multi-line .* use another name/);
    });

    it("knows which values an env-file keeps intact", () => {
        expect(fitsEnvFile("postgres://app:p%40ss@db:5432/app")).toBe(true);
        expect(fitsEnvFile(" leading and trailing spaces ")).toBe(true);
        expect(fitsEnvFile("two\nlines")).toBe(false);
        expect(fitsEnvFile("x".repeat(70_000))).toBe(false);
    });
});
