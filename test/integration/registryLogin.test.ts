import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryLogin, withRegistryLogin } from "../../components/docker/providers/image";
import { requireToolchain } from "./harness";

/** The throw-away client configs that exist now (each holds a login while it lasts). */
function loginConfigs(): string[] {
    return fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith("berth-docker-config-"));
}

/** The login runs beside whatever is done first (a build): what must hold for that, on the local registry. */
describe("a registry login beside other work (real docker CLI, the local registry)", () => {
    let login: RegistryLogin;
    const sharedTmp = process.env.TMPDIR;

    beforeAll(() => {
        requireToolchain();
        // A temporary directory of this file's own: the other lane's deploys make and remove their logins' configs
        // in the shared one meanwhile.
        process.env.TMPDIR = fs.mkdtempSync(path.join(os.tmpdir(), "berth-login-test-"));
        login = {
            server: process.env.BERTH_REGISTRY!,
            username: process.env.BERTH_REGISTRY_USER!,
            password: fs.readFileSync(process.env.BERTH_REGISTRY_PASSWORD_FILE!, "utf8").trim(),
        };
    });

    afterAll(() => {
        fs.rmSync(os.tmpdir(), { recursive: true, force: true });
        if (sharedTmp === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = sharedTmp;
    });

    it("logs in before a registry call made while the login still runs", async () => {
        const before = loginConfigs();
        const answer = await withRegistryLogin("", login, (loggedIn) =>
            loggedIn(["pull", "--quiet", `${login.server}/berth-test/nothing:here`]).then(() => "pulled", (err: Error) => err.message));
        // Logged in: the registry says the image is missing, not that the client is unknown to it.
        expect(answer).toMatch(/not found|manifest unknown/i);
        expect(answer).not.toMatch(/unauthorized|no basic auth/i);
        expect(loginConfigs()).toEqual(before);
    });

    it("fails on a refused login even when the work needed no registry call (what a host check relies on)", async () => {
        await expect(withRegistryLogin("", { ...login, password: `${login.password}-wrong` }, async () => "built"))
            .rejects.toThrow(/unauthorized|incorrect username or password/i);
    });

    it("lets the login end before its credentials go when the work fails first, and reports the work's failure", async () => {
        const before = loginConfigs();
        await expect(withRegistryLogin("", login, async () => {
            throw new Error("build failed");
        })).rejects.toThrow("build failed");
        expect(loginConfigs()).toEqual(before);
    });
});
