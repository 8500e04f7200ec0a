import { describe, expect, it } from "vitest";
import { canaryReplicas, combined, parseCanary, releaseConfig, releaseFigures, verdict, watchPhases, WATCH_DEFAULTS } from "../../components/canary";
import { releaseScript } from "../../components/docker/providers/canaryRelease";
import { checkWatchedRelease } from "../../components/config/stack";
import * as fs from "fs";
import * as path from "path";

const settings = parseCanary("canary", { percent: 10, seconds: 120, maxErrorRate: 0.02, maxP95Ms: 800 })!;
const figures = (requests: number, errors: number, ms: number) => ({ requests, errors, latenciesMs: Array.from({ length: requests }, () => ms) });

describe("berth:canary and berth:watchSeconds", () => {
    it("takes the issue's keys, with defaults for the rest, and refuses every bad value at once", () => {
        expect(settings).toEqual({ percent: 10, seconds: 120, maxErrorRate: 0.02, maxP95Ms: 800, minRequests: 20, tooFewRequests: "hold" });
        expect(parseCanary("canary", undefined)).toBeUndefined();
        // As `pulumi config set --path` keeps them.
        expect(parseCanary("canary", { percent: "10", seconds: "120", maxErrorRate: "0.02", maxP95Ms: "800" })).toEqual(settings);
        expect(parseCanary("canary", {})).toEqual({ percent: 0, seconds: 0, ...WATCH_DEFAULTS });
        expect(() => parseCanary("canary", { percent: 100, seconds: 2, maxErrorRate: 2, maxP95Ms: "fast", tooFewRequests: "maybe", precent: 5 })).toThrow(new RegExp([
            "berth:canary\\.precent = 5: not a canary setting: use percent, seconds, maxErrorRate, maxP95Ms, minRequests, tooFewRequests \\(did you mean percent\\?\\)",
            "berth:canary\\.percent = 100: use a whole number from 1 to 99",
            "berth:canary\\.seconds = 2: use a whole number from 5 to 3600",
            "berth:canary\\.maxErrorRate = 2: use a number from 0 to 1",
            'berth:canary\\.maxP95Ms = "fast": use a whole number from 1 to 600000',
            'berth:canary\\.tooFewRequests = "maybe": use promote or hold',
        ].join("\n.*")));
        expect(() => parseCanary("canary", { percent: 10 })).toThrow(/berth:canary\.seconds = undefined: a canary needs both percent and seconds/);
        expect(() => parseCanary("canary", [10])).toThrow(/use an object/);
    });

    it("is judged from what berth's proxy passes on: refused without it", () => {
        const app = { canary: settings, watchSeconds: 0, proxy: true, hostPort: 8080 };
        expect(() => checkWatchedRelease(app)).not.toThrow();
        expect(() => checkWatchedRelease({ ...app, proxy: false })).toThrow(/berth:canary = \{ percent, [^}]*\}: a watched release is judged from the requests berth's proxy passes on: it needs berth:proxy true and a berth:hostPort \(now false, 8080\)/);
        expect(() => checkWatchedRelease({ ...app, canary: parseCanary("canary", {})!, watchSeconds: 30, hostPort: 0 })).toThrow(/berth:watchSeconds = 30: [^]*\(now true, 0\)/);
        expect(() => checkWatchedRelease({ ...app, canary: parseCanary("canary", {})!, hostPort: 0 })).not.toThrow();
    });

    it("watches in phases: the canary's share, then all traffic for the watch", () => {
        expect(watchPhases(settings, 0)).toEqual([{ percent: 10, seconds: 120 }]);
        expect(watchPhases(settings, 30)).toEqual([{ percent: 10, seconds: 120 }, { percent: 100, seconds: 30 }]);
        expect(watchPhases(parseCanary("canary", {}), 30)).toEqual([{ percent: 100, seconds: 30 }]);
        expect(watchPhases(undefined, 0)).toEqual([]);
    });

    it("runs a share of each host's replicas as canaries, at least one", () => {
        expect([canaryReplicas(10, 1), canaryReplicas(10, 4), canaryReplicas(50, 4), canaryReplicas(25, 10), canaryReplicas(100, 3)]).toEqual([1, 1, 2, 3, 3]);
    });

    it("tells the proxy: all to the replicas, a split with the pin cookie, or all to the new release", () => {
        const none = "map $host $berth_release {\n    default app;\n}\nmap $host $berth_pin {\n    default \"\";\n}\nmap $host $berth_watching {\n    default 0;\n}\n";
        expect(releaseConfig(undefined)).toBe(none);
        // The proxy image starts with the same file berth writes back when a watch ends.
        expect(fs.readFileSync(path.join(__dirname, "../../images/proxy/release.conf"), "utf8")).toBe(none);
        expect(releaseConfig({ percent: 10, seconds: 120 })).toBe([
            'split_clients "$request_id" $berth_split {', "    10% canary;", "    * app;", "}",
            "map $cookie_berth_release $berth_release {", "    app app;", "    canary canary;", "    default $berth_split;", "}",
            "map $berth_release $berth_pin {", '    default "berth_release=$berth_release; Path=/; Max-Age=120; HttpOnly; SameSite=Lax";', "}",
            "map $host $berth_watching {", "    default 1;", "}", "",
        ].join("\n"));
        expect(releaseConfig({ percent: 100, seconds: 30 })).toBe("map $host $berth_release {\n    default canary;\n}\nmap $host $berth_pin {\n    default \"\";\n}\nmap $host $berth_watching {\n    default 1;\n}\n");
    });

    it("writes the split with nginx's check, empties the log, and lifting it waits for the old workers", () => {
        const split = releaseScript({ percent: 10, seconds: 60 }, ["172.18.0.9:8080"], 5);
        expect(split).toContain("printf '%s' 'split_clients \"$request_id\" $berth_split {");
        expect(split).toContain("printf '%s' 'server 172.18.0.9:8080 max_fails=1 fail_timeout=2s;\n' > /etc/nginx/berth/canary-upstream.conf");
        expect(split).toContain(": > /var/log/nginx/berth-release.log");
        expect(split).toContain("if ! nginx -t -q; then mv /etc/nginx/berth/release.conf.previous /etc/nginx/berth/release.conf;");
        expect(split).not.toContain("worker process is shutting down");
        const lift = releaseScript(undefined, [], 5);
        expect(lift).toContain("server 127.0.0.1:1 down;");
        expect(lift).toContain("for i in $(seq 1 100); do grep -qs '^nginx: worker process is shutting down'");
    });

    it("reads each release's requests, failures (5xx, or no answer from the app) and times from the release log", () => {
        const log = ["app 200 0.004", "canary 500 0.010", "canary 502 0.001", "canary 200 0.900", "noise", "app 404 0.002"].join("\n");
        const { app, canary } = releaseFigures(log);
        expect(app).toEqual({ requests: 2, errors: 0, latenciesMs: [2, 4] });
        expect(canary).toEqual({ requests: 3, errors: 2, latenciesMs: [1, 10, 900] });
        expect(combined([app, canary])).toEqual({ requests: 5, errors: 2, latenciesMs: [1, 2, 4, 10, 900] });
    });

    it("promotes a release within bounds, rolls back on errors or latency, never blames it for a bad minute everyone had", () => {
        expect(verdict(figures(900, 0, 20), figures(100, 1, 25), settings)).toEqual({ promote: true, reasons: [], figures: "old: 900 requests, 0 errors (0.0%), p95 20 ms; new: 100 requests, 1 errors (1.0%), p95 25 ms" });
        expect(verdict(figures(900, 0, 20), figures(100, 10, 25), settings).reasons).toEqual(["error rate 10.0% > 2.0% (old: 0.0%)"]);
        expect(verdict(figures(900, 0, 20), figures(100, 0, 1200), settings).reasons).toEqual(["p95 1200 ms > 800 ms (old: 20 ms)"]);
        // The whole app failing (a service down) is not the new release's fault.
        expect(verdict(figures(900, 90, 20), figures(100, 10, 25), settings).promote).toBe(true);
        // The watch after the switch has no old traffic of its own: the bounds alone decide.
        expect(verdict(undefined, figures(100, 10, 25), settings)).toEqual({ promote: false, reasons: ["error rate 10.0% > 2.0%"], figures: "new: 100 requests, 10 errors (10.0%), p95 25 ms" });
        expect(verdict(figures(900, 0, 20), figures(5, 0, 25), settings)).toMatchObject({ promote: false, reasons: ["too few requests to judge (5 < 20); berth:canary.tooFewRequests is hold (promote releases anyway)"] });
        expect(verdict(figures(900, 0, 20), figures(5, 0, 25), { ...settings, tooFewRequests: "promote" }).promote).toBe(true);
    });
});
