import { describe, expect, it } from "vitest";
import { applyScript, parseUpstreamConfig, provider, routesId, upstreamConfig } from "../../../components/docker/providers/proxyRoutes";

describe("proxy routes", () => {
    it("write one nginx server line per replica, or a fast 502 when there is none", () => {
        expect(upstreamConfig(["b:8080", "a:8080"])).toBe("server a:8080 max_fails=1 fail_timeout=2s;\nserver b:8080 max_fails=1 fail_timeout=2s;\n");
        expect(upstreamConfig([])).toBe("server 127.0.0.1:1 down;\n");
    });

    it("are read back from the file they are written to", () => {
        expect(parseUpstreamConfig(upstreamConfig(["172.18.0.9:8080", "172.18.0.4:8080"]))).toEqual(["172.18.0.4:8080", "172.18.0.9:8080"]);
        expect(parseUpstreamConfig(upstreamConfig([]))).toEqual([]);
    });

    it("see no change when only the order of the replicas differs", async () => {
        const olds = { host: "", proxy: "p", upstreams: ["b:8080", "a:8080"] };
        expect(await provider.diff!("id", olds, { ...olds, upstreams: ["a:8080", "b:8080"] })).toEqual({ changes: false });
        expect(await provider.diff!("id", olds, { ...olds, upstreams: ["a:8080", "c:8080"] })).toEqual({ changes: true });
    });

    it("name a set of replicas the same in any order, and different sets differently", () => {
        expect(routesId(["b:8080", "a:8080"])).toBe(routesId(["a:8080", "b:8080"]));
        expect(routesId(["a:8080"])).not.toBe(routesId(["a:8080", "b:8080"]));
        expect(routesId(["a:8080"])).toMatch(/^[0-9a-f]{16}$/);
    });

    it("reload, wait until nginx answers with the new routes, then until the old workers are gone, for at most drainSeconds", () => {
        const script = applyScript("0123456789abcdef", 20);
        expect(script.indexOf("nginx -t -q")).toBeLessThan(script.indexOf("nginx -s reload"));
        expect(script).toContain('return 200 "0123456789abcdef');
        expect(script).toMatch(/\*0123456789abcdef\*\) seen=/);
        expect(script.indexOf("seen=0")).toBeLessThan(script.indexOf("worker process is shutting down"));
        expect(script).toContain("$(seq 1 400)");
    });
});
