import { describe, expect, it } from "vitest";
import { environmentOf, oneOffArgs } from "../../scripts/exec";
import { mergeLogLines } from "../../scripts/logs";
import { parseOptions } from "../../scripts/replicas";

describe("npm run logs / exec, their pure parts", () => {
    it("merges replicas' timestamped lines in time order, each prefixed with its replica", () => {
        const merged = mergeLogLines([
            { replica: "shop-a", text: "2026-11-23T05:00:01.000000000Z started\n2026-11-23T05:00:03.000000000Z GET /\n" },
            { replica: "shop-b", text: "2026-11-23T05:00:02.000000000Z started\n\n2026-11-23T05:00:03.000000000Z GET /rows\n" },
        ]);
        expect(merged).toEqual([
            "shop-a | 2026-11-23T05:00:01.000000000Z started",
            "shop-b | 2026-11-23T05:00:02.000000000Z started",
            "shop-a | 2026-11-23T05:00:03.000000000Z GET /",
            "shop-b | 2026-11-23T05:00:03.000000000Z GET /rows",
        ]);
    });

    it("takes the replica's environment without the image's own variables", () => {
        expect(environmentOf(["PATH=/usr/bin", "DATABASE_URL=postgres://app:pw@postgres/app", "PEM=a=b"], ["PATH=/usr/bin"]))
            .toEqual({ DATABASE_URL: "postgres://app:pw@postgres/app", PEM: "a=b" });
    });

    it("runs a one-off with its argv as given (no shell, no entrypoint), a terminal only when asked", () => {
        const run = { stack: "staging", name: "berth-staging-exec-a1b2c3", image: "r/shop/main@sha256:1", network: "berth-staging", envFlags: ["--env-file", "/tmp/e"], tty: false, command: ["printf", "%s|", "a b", "c'd"] };
        expect(oneOffArgs(run)).toEqual(["run", "--rm", "--interactive", "--name", "berth-staging-exec-a1b2c3", "--label", "berth.stack=staging", "--label", "berth.role=one-off",
            "--network", "berth-staging", "--env-file", "/tmp/e", "--entrypoint", "", "r/shop/main@sha256:1", "printf", "%s|", "a b", "c'd"]);
        expect(oneOffArgs({ ...run, tty: true, network: undefined, envFlags: [], command: ["bin/rails", "console"] })).toEqual(["run", "--rm", "--interactive", "--tty", "--name", "berth-staging-exec-a1b2c3",
            "--label", "berth.stack=staging", "--label", "berth.role=one-off", "--entrypoint", "", "r/shop/main@sha256:1", "bin/rails", "console"]);
    });

    it("reads options before `--` and the command after it", () => {
        const logs = { values: ["stack", "since", "role"], flags: ["follow"] } as const;
        expect(parseOptions(["--stack", "staging", "--follow", "--since", "10m"], logs)).toEqual({ options: { stack: "staging", follow: true, since: "10m" }, rest: [] });
        expect(parseOptions(["--stack", "s", "--", "rake", "db:seed", "--stack"], { values: ["stack"] })).toEqual({ options: { stack: "s" }, rest: ["rake", "db:seed", "--stack"] });
        expect(() => parseOptions(["--stack"], logs)).toThrow(/'--stack <value>' argument missing/);
        expect(() => parseOptions(["--stack", "s", "--tail", "5"], logs)).toThrow(/Unknown option '--tail'/);
        expect(() => parseOptions(["--stack", "s", "stray"], logs)).toThrow(/Unexpected argument 'stray'/);
    });
});
