import { describe, expect, it } from "vitest";
import { provider, upstreamConfig } from "../../../components/docker/providers/proxyRoutes";

describe("proxy routes", () => {
    it("write one nginx server line per replica, or a fast 502 when there is none", () => {
        expect(upstreamConfig(["b:8080", "a:8080"])).toBe("server a:8080 max_fails=1 fail_timeout=2s;\nserver b:8080 max_fails=1 fail_timeout=2s;\n");
        expect(upstreamConfig([])).toBe("server 127.0.0.1:1 down;\n");
    });

    it("see no change when only the order of the replicas differs", async () => {
        const olds = { host: "", proxy: "p", upstreams: ["b:8080", "a:8080"] };
        expect(await provider.diff!("id", olds, { ...olds, upstreams: ["a:8080", "b:8080"] })).toEqual({ changes: false });
        expect(await provider.diff!("id", olds, { ...olds, upstreams: ["a:8080", "c:8080"] })).toEqual({ changes: true });
    });
});
