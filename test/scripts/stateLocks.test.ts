import { describe, expect, it } from "vitest";
import { isPostgresBackend, keysUnder, rowFile, withoutPassword } from "../../scripts/stateBackend";
import { judgeLocks, lockDir } from "../../scripts/stateLocks";

const now = new Date("2026-12-04T15:00:00Z");
const lock = (hostname: string, pid: number, minutesSilent: number, keptByBerth = true) => ({
    key: `berth_state/${lockDir("berth", "staging")}${hostname}-${pid}.json`, pid, username: "ci", hostname, timestamp: "2026-12-04T14:00:00Z",
    heartbeat: keptByBerth ? new Date(now.getTime() - minutesSilent * 60_000) : undefined,
});

describe("locks in a team's Postgres state backend", () => {
    it("are stale when their process is gone here, or another machine's kept heartbeat stopped; a live run's never", () => {
        const here = { hostname: "laptop-a", isAlive: (pid: number) => pid === 100 };
        const locks = [lock("laptop-a", 100, 10), lock("laptop-a", 200, 0), lock("ci-runner", 300, 2.5), lock("ci-runner", 400, 3), lock("ci-runner", 500, 60, false)];
        expect(judgeLocks(locks, here, now).map(({ lock: l, stale, why }) => [l.pid, stale, why])).toEqual([
            [100, false, "its process (pid 100) runs on this machine"],
            [200, true, "its process (pid 200) no longer exists on this machine"],
            [300, false, "its last heartbeat was 150 s ago (stale after 3 minutes without one)"],
            [400, true, "no heartbeat from ci-runner for 3 minutes (stale after 3)"],
            // A run outside berth's entry points keeps no heartbeat: however old, only its own machine can tell.
            [500, false, "it keeps no heartbeat (a run outside berth's entry points), so only its own machine can tell it ended; once it is known dead: npm run pulumi -- cancel --stack <stack>"],
        ]);
    });

    it("are found by the stack's directory; the backend URL is shown without its password", () => {
        expect(lockDir("berth", "staging")).toBe(".pulumi/locks/organization/berth/staging/");
        expect(isPostgresBackend("postgres://berth:pw@10.0.0.5:5432/berth_state")).toBe(true);
        expect(isPostgresBackend("file:///x")).toBe(false);
        expect(keysUnder(lockDir("berth", "my_stack"))).toBe("%/.pulumi/locks/organization/berth/my\\_stack/%.json");
        // Each row holds its file as base64 in {"data": …}.
        const file = { pid: 7, username: "ci", hostname: "runner-1", timestamp: "2026-12-04T14:00:00Z" };
        expect(rowFile({ data: Buffer.from(JSON.stringify(file)).toString("base64") })).toEqual(file);
        expect(rowFile({ data: Buffer.from("version: 1\n").toString("base64") })).toBeUndefined();
        expect(withoutPassword("postgres://berth:s3cr%2Ft@10.0.0.5:5432/berth_state?sslmode=disable")).toBe("postgres://berth:***@10.0.0.5:5432/berth_state?sslmode=disable");
    });
});
