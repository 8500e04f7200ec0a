import { describe, expect, it } from "vitest";
import { environmentOf } from "../../scripts/exec";
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

    it("reads options before `--` and the command after it", () => {
        const logs = { values: ["stack", "since", "role"], flags: ["follow"] } as const;
        expect(parseOptions(["--stack", "staging", "--follow", "--since", "10m"], logs)).toEqual({ options: { stack: "staging", follow: true, since: "10m" }, rest: [] });
        expect(parseOptions(["--stack", "s", "--", "rake", "db:seed", "--stack"], { values: ["stack"] })).toEqual({ options: { stack: "s" }, rest: ["rake", "db:seed", "--stack"] });
        expect(() => parseOptions(["--stack"], logs)).toThrow(/'--stack <value>' argument missing/);
        expect(() => parseOptions(["--stack", "s", "--tail", "5"], logs)).toThrow(/Unknown option '--tail'/);
        expect(() => parseOptions(["--stack", "s", "stray"], logs)).toThrow(/Unexpected argument 'stray'/);
    });
});
