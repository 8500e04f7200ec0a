import { describe, expect, it } from "vitest";
import { canaryReplicas, combined, parseCanary, releaseFigures, splitConfig, verdict } from "../../components/canary";

const settings = parseCanary("canary", { percent: 10, seconds: 120, maxErrorRate: 0.02, maxP95Ms: 800 })!;
const figures = (requests: number, errors: number, ms: number) => ({ requests, errors, latenciesMs: Array.from({ length: requests }, () => ms) });

describe("berth:canary (WIP, issue 30)", () => {
    it("takes the issue's keys, with defaults for the rest, and refuses every bad value at once", () => {
        expect(settings).toEqual({ percent: 10, seconds: 120, maxErrorRate: 0.02, maxP95Ms: 800, minRequests: 20, tooFewRequests: "hold" });
        expect(parseCanary("canary", undefined)).toBeUndefined();
        expect(() => parseCanary("canary", { percent: 100, seconds: 5, maxErrorRate: 2, maxP95Ms: 800, shadow: true })).toThrow(
            /berth:canary\.shadow = true: not a canary setting[^]*berth:canary\.percent = 100: use a whole number from 1 to 99[^]*berth:canary\.seconds = 5[^]*berth:canary\.maxErrorRate = 2/);
    });

    it("runs a share of each host's replicas as canaries, at least one", () => {
        expect([canaryReplicas(10, 1), canaryReplicas(10, 4), canaryReplicas(50, 4), canaryReplicas(25, 10)]).toEqual([1, 1, 2, 3]);
    });

    it("splits by request id, keeps a pinned user on the release of their cookie, and logs the release that answered", () => {
        expect(splitConfig(10)).toBe([
            'split_clients "$request_id" $berth_split {', "    10% canary;", "    * stable;", "}",
            "map $cookie_berth_release $berth_release {", "    canary canary;", "    stable stable;", "    default $berth_split;", "}",
            "log_format berth_canary '$berth_release $status $upstream_status $request_time';", "",
        ].join("\n"));
    });

    it("reads each release's requests, failures (5xx, no answer from the app) and times from the access log", () => {
        const log = ["stable 200 200 0.004", "canary 500 500 0.010", "canary 502 - 0.001", "canary 200 200 0.900", "noise", "stable 404 404 0.002"].join("\n");
        const { stable, canary } = releaseFigures(log);
        expect(stable).toEqual({ requests: 2, errors: 0, latenciesMs: [2, 4] });
        expect(canary).toEqual({ requests: 3, errors: 2, latenciesMs: [1, 10, 900] });
        expect(combined([stable, canary])).toEqual({ requests: 5, errors: 2, latenciesMs: [1, 2, 4, 10, 900] });
    });

    it("promotes a release within bounds, rolls back on errors or latency, never blames it for a bad minute everyone had", () => {
        expect(verdict(figures(900, 0, 20), figures(100, 1, 25), settings)).toEqual({ promote: true, reasons: [], figures: "old: 900 requests, 0 errors (0.0%), p95 20 ms; new: 100 requests, 1 errors (1.0%), p95 25 ms" });
        expect(verdict(figures(900, 0, 20), figures(100, 10, 25), settings).reasons).toEqual(["error rate 10.0% > 2.0% (old: 0.0%)"]);
        expect(verdict(figures(900, 0, 20), figures(100, 0, 1200), settings).reasons).toEqual(["p95 1200 ms > 800 ms (old: 20 ms)"]);
        // The whole app failing (a service down) is not the new release's fault.
        expect(verdict(figures(900, 90, 20), figures(100, 10, 25), settings).promote).toBe(true);
        expect(verdict(figures(900, 0, 20), figures(5, 0, 25), settings)).toMatchObject({ promote: false, reasons: ["too few requests to judge (5 < 20)"] });
        expect(verdict(figures(900, 0, 20), figures(5, 0, 25), { ...settings, tooFewRequests: "promote" }).promote).toBe(true);
    });
});
