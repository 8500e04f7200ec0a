import { describe, expect, it } from "vitest";
import { containerRows, driftLine, hostLines, inspected, namedUpstreams, proxyRoutes, watchLine } from "../../scripts/status";
import { releaseConfig } from "../../components/canary";

describe("npm run status", () => {
    it("lists a host's containers app first, each with its role or service, status and image, then its volumes", () => {
        const ps = [
            "berth-s-postgres-1a2b3c\tdependency\tpostgres\treg/berth/postgres:15\tUp 2 hours (healthy)",
            "berth-s-shop-9f8e7d\tapp\t\treg/shop/s@sha256:abc\tUp 5 minutes (healthy)",
            "berth-s-proxy-123456\tproxy\t\treg/berth/proxy@sha256:def\tUp 2 hours",
        ].join("\n");
        const rows = containerRows(ps);
        expect(rows.map((r) => r.name)).toEqual(["berth-s-shop-9f8e7d", "berth-s-proxy-123456", "berth-s-postgres-1a2b3c"]);
        expect(hostLines("ssh://deploy@h1", rows, ["berth-s-postgres-data"])).toEqual([
            "ssh://deploy@h1:",
            "  berth-s-shop-9f8e7d      app         Up 5 minutes (healthy)    reg/shop/s@sha256:abc",
            "  berth-s-proxy-123456     proxy       Up 2 hours                reg/berth/proxy@sha256:def",
            "  berth-s-postgres-1a2b3c  postgres    Up 2 hours (healthy)      reg/berth/postgres:15",
            "  volumes: berth-s-postgres-data",
        ]);
        expect(hostLines("", [], [])).toEqual(["local engine:", "  no container of this stack"]);
        const deployment = { resources: [
            { type: "pulumi-nodejs:dynamic/berth:ProxyRoutes", outputs: { host: "ssh://deploy@h1", upstreams: ["172.18.0.5:8080", "172.18.0.9:8080"] } },
            { type: "pulumi-nodejs:dynamic/berth:DockerContainer", outputs: { host: "ssh://deploy@h1" } },
        ] };
        const { images, names } = inspected("/berth-s-shop-9f8e7d\treg/shop/s@sha256:abc\t172.18.0.5 \n/berth-s-proxy-123456\treg/berth/proxy@sha256:def\t172.18.0.2 172.19.0.2 \n");
        expect(images.get("berth-s-shop-9f8e7d")).toBe("reg/shop/s@sha256:abc");
        const upstreams = namedUpstreams(proxyRoutes(deployment).get("ssh://deploy@h1")!, names);
        // An address no container has (a replica gone by hand) is shown as it is.
        expect(hostLines("ssh://deploy@h1", [], [], undefined, upstreams).at(-1)).toBe("  proxy routes to: berth-s-shop-9f8e7d:8080, 172.18.0.9:8080");
        expect(hostLines("", [], [], { domains: ["shop.example.com", "www.shop.example.com"], pathPrefix: "/app", maintenance: true }).at(-1))
            .toBe("  front door: shop.example.com, www.shop.example.com under /app (maintenance)");
    });

    it("says when a proxy sends a share of requests to a release being watched", () => {
        expect(watchLine(releaseConfig(undefined))).toBeUndefined();
        expect(watchLine(releaseConfig({ percent: 25, seconds: 60 }))).toBe("  a new release is being watched (canary): 25% of requests go to its canary containers");
        expect(watchLine(releaseConfig({ percent: 100, seconds: 60 }))).toBe("  a new release is being watched (canary): 100% of requests go to its canary containers");
        expect(watchLine("")).toBeUndefined(); // a proxy older than canaries
    });

    it("says whether anything drifted, from the preview's counts", () => {
        expect(driftLine({ same: 27 })).toBe("drift: none (the hosts run what the state records)");
        expect(driftLine({ same: 25, update: 1, replace: 1 })).toBe("drift: an up would update 1, replace 1 (npm run pulumi -- preview --diff --stack <stack> shows what)");
    });
});
