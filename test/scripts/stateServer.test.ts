import { describe, expect, it } from "vitest";
import { reachableAddress, runArgs, serverOptions, stateUrl } from "../../scripts/stateServer";

describe("the team's state server", () => {
    it("is reached at the host's name, with its password URL-encoded", () => {
        expect(reachableAddress("ssh://deploy@10.0.0.5")).toBe("10.0.0.5");
        expect(reachableAddress("ssh://deploy@state-1.internal:2222")).toBe("state-1.internal");
        expect(reachableAddress("")).toBe("127.0.0.1");
        expect(() => reachableAddress("tcp://x:2376")).toThrow(/ssh:\/\/user@host/);
        expect(stateUrl("10.0.0.5", 5432, "a/b+c")).toBe("postgres://berth:a%2Fb%2Bc@10.0.0.5:5432/berth_state?sslmode=disable");
    });

    it("runs Postgres on a volume of its own, the password by environment only", () => {
        expect(runArgs("postgres:15", 5432)).toEqual(["run", "--detach", "--name", "berth-state", "--restart", "always", "--label", "berth.role=state-server",
            "--mount", "type=volume,source=berth-state-data,target=/var/lib/postgresql/data", "--publish", "5432:5432",
            "--env", "POSTGRES_PASSWORD", "--env", "POSTGRES_USER=berth", "--env", "POSTGRES_DB=berth_state", "postgres:15"]);
    });

    it("checks its options before anything runs: an image that is no reference (a flag) is refused with the rest", () => {
        expect(serverOptions({})).toEqual({ host: "", image: "postgres:15", port: 5432 });
        expect(serverOptions({ host: "ssh://deploy@10.0.0.5", image: "reg.example.com/team/postgres:15", port: "15432" })).toEqual({ host: "ssh://deploy@10.0.0.5", image: "reg.example.com/team/postgres:15", port: 15432 });
        expect(() => serverOptions({ host: "tcp://x", image: "--privileged", port: "0" })).toThrow(
            /^--host tcp:\/\/x: [^\n]*\n--image --privileged: an image reference[^\n]*\n--port 0: a TCP port, 1-65535$/);
    });
});
