import { describe, expect, it } from "vitest";
import { claimedBy, claims, emptyIngress, initialConfig, IngressSite, servesSite, siteRoute, withoutSite, withSite } from "../../components/ingressConfig";

const acme = { server: "https://acme.test/dir", email: "ops@shop.test", trustedRoots: [] };
const site = (stack: string, domains: string[], extra: Partial<IngressSite> = {}): IngressSite => ({
    stack, domains, pathPrefix: "", upstream: "127.0.0.1:21000", tls: "acme", acme, maintenance: false, hsts: false, maxBodyBytes: 0, ...extra,
});
/** The stacks' routes (the unclaimed answer, always last, aside). */
const routes = (apps: ReturnType<typeof emptyIngress>) => {
    const all = apps.http.servers.ingress.routes;
    expect(all.at(-1)?.["@id"]).toBe("berth-unclaimed");
    return all.slice(0, -1);
};

/** The front door's Caddy config as stacks add, change and remove their own part of it. */
describe("the ingress config", () => {
    it("routes a stack's names to its proxy, retrying a refused connection, with a certificate policy for ACME", () => {
        const apps = withSite(emptyIngress(80, 443), site("shop", ["shop.test", "www.shop.test"], { maxBodyBytes: 1024 }));
        expect(apps.http.servers.ingress.listen).toEqual([":80", ":443"]);
        expect(routes(apps)).toEqual([{
            "@id": "berth-route-shop",
            match: [{ host: ["shop.test", "www.shop.test"] }],
            handle: [{
                handler: "subroute",
                routes: [
                    { match: [{ protocol: "http" }], handle: [{ handler: "static_response", status_code: 308, headers: { Location: ["https://{http.request.host}{http.request.uri}"] } }] },
                    { handle: [
                        { handler: "request_body", max_size: 1024 },
                        { handler: "reverse_proxy", upstreams: [{ dial: "127.0.0.1:21000" }], load_balancing: { try_duration: "10s", try_interval: "100ms" } },
                    ] },
                ],
            }],
            terminal: true,
        }]);
        expect(apps.tls?.automation?.policies).toEqual([{ "@id": "berth-tls-shop", subjects: ["shop.test", "www.shop.test"], issuers: [{ module: "acme", ca: "https://acme.test/dir", email: "ops@shop.test" }] }]);
    });

    it("replaces only the stack's own part: another stack's route and policy stay", () => {
        const two = withSite(withSite(emptyIngress(80, 443), site("shop", ["shop.test"])), site("blog", ["blog.test"]));
        const moved = withSite(two, site("shop", ["shop.example.test"], { tls: "off" }));
        expect(routes(moved).map((r) => [r["@id"], r.match?.[0].host])).toEqual([["berth-route-blog", ["blog.test"]], ["berth-route-shop", ["shop.example.test"]]]);
        expect(moved.tls?.automation?.policies?.map((p) => p["@id"])).toEqual(["berth-tls-blog"]);
        expect(moved.http.servers.ingress.automatic_https?.skip).toEqual(["shop.example.test"]);
        const gone = withoutSite(moved, "shop");
        expect(routes(gone).map((r) => r["@id"])).toEqual(["berth-route-blog"]);
        expect(gone.http.servers.ingress.automatic_https?.skip).toEqual([]);
        // The input is never changed in place: a failed write leaves what was read intact.
        expect(routes(two)).toHaveLength(2);
    });

    it("puts path prefixes before whole hosts, the longest first", () => {
        let apps = withSite(emptyIngress(80, 443), site("web", ["shop.test"]));
        apps = withSite(apps, site("api", ["shop.test"], { pathPrefix: "/api" }));
        apps = withSite(apps, site("api-v2", ["shop.test"], { pathPrefix: "/api/v2" }));
        expect(routes(apps).map((r) => [r["@id"], r.match?.[0].path])).toEqual([
            ["berth-route-api-v2", ["/api/v2", "/api/v2/*"]], ["berth-route-api", ["/api", "/api/*"]], ["berth-route-web", undefined],
        ]);
    });

    it("puts exact names before wildcards, so a branch's own name wins over its environment's wildcard", () => {
        let apps = withSite(emptyIngress(80, 443), site("staging", ["*.staging.shop.test"]));
        apps = withSite(apps, site("feature-x", ["feature-x.staging.shop.test"]));
        expect(routes(apps).map((r) => r["@id"])).toEqual(["berth-route-feature-x", "berth-route-staging"]);
    });

    it("names the stack that already claims a name under the same path prefix", () => {
        const apps = withSite(emptyIngress(80, 443), site("staging", ["staging.shop.test", "shop.test"]));
        expect(claimedBy(apps, { stack: "feature-x", domains: ["feature-x.shop.test", "shop.test"], pathPrefix: "" })).toEqual({ stack: "staging", domain: "shop.test" });
        expect(claimedBy(apps, { stack: "staging", domains: ["shop.test"], pathPrefix: "" })).toBeUndefined();
        expect(claimedBy(apps, { stack: "api", domains: ["shop.test"], pathPrefix: "/api" })).toBeUndefined();
    });

    it("answers 503 with a plain page in maintenance, HSTS on HTTPS only, plain HTTP without a redirect when TLS is off", () => {
        const served = (route: ReturnType<typeof siteRoute>) => (route.handle[0].routes as { handle: { handler: string }[] }[]).at(-1)!.handle;
        expect(served(siteRoute(site("shop", ["shop.test"], { maintenance: true, hsts: true })))).toEqual([
            { handler: "headers", response: { set: { "Strict-Transport-Security": ["max-age=31536000"] } } },
            { handler: "static_response", status_code: 503, headers: { "Content-Type": ["text/plain; charset=utf-8"], "Retry-After": ["120"] }, body: "Down for maintenance; back soon.\n" },
        ]);
        const plain = siteRoute(site("shop", ["shop.test"], { hsts: true, tls: "off" }));
        expect(plain.handle[0].routes).toHaveLength(1);
        expect(served(plain).map((h) => h.handler)).toEqual(["reverse_proxy"]);
    });

    it("loads a stack's own certificate tagged as its, and removes only that one", () => {
        const pair = (n: string) => ({ certificate: `CERT ${n}`, privateKey: `KEY ${n}` });
        let apps = withSite(emptyIngress(80, 443), site("shop", ["shop.test"], { tls: "manual", certificate: pair("shop") }));
        apps = withSite(apps, site("blog", ["blog.test"], { tls: "manual", certificate: pair("blog") }));
        expect(apps.tls?.certificates?.load_pem).toEqual([
            { certificate: "CERT blog", key: "KEY blog", tags: ["berth-blog"] },
            { certificate: "CERT shop", key: "KEY shop", tags: ["berth-shop"] },
        ]);
        expect(withoutSite(apps, "shop").tls?.certificates?.load_pem?.map((c) => c.tags)).toEqual([["berth-blog"]]);
    });

    it("gives the same config whatever order stacks write in, so a config as declared is no drift and one changed by hand is", () => {
        const shop = site("shop", ["shop.test"]);
        const blog = site("blog", ["blog.test"], { tls: "off" });
        const one = withSite(withSite(emptyIngress(80, 443), shop), blog);
        expect(withSite(withSite(emptyIngress(80, 443), blog), shop)).toEqual(one);
        expect(servesSite(one, shop)).toBe(true);
        expect(servesSite(withoutSite(one, "shop"), shop)).toBe(false);
        expect(servesSite(one, { ...shop, upstream: "127.0.0.1:21001" })).toBe(false);
        expect(claims(withSite(one, site("api", ["shop.test"], { pathPrefix: "/api", maintenance: true })))).toEqual([
            { stack: "api", domains: ["shop.test"], pathPrefix: "/api", maintenance: true },
            { stack: "blog", domains: ["blog.test"], pathPrefix: "", maintenance: false },
            { stack: "shop", domains: ["shop.test"], pathPrefix: "", maintenance: false },
        ]);
    });

    it("starts a new ingress with its admin API on a socket inside it and only the unclaimed answer, a 404", () => {
        expect(JSON.parse(initialConfig(80, 443))).toEqual({ admin: { listen: "unix//run/caddy/admin.sock" }, logging: { logs: { default: { exclude: ["admin.api"] } } }, apps: emptyIngress(80, 443) });
        expect(emptyIngress(80, 443).http.servers.ingress.routes).toEqual([expect.objectContaining({ "@id": "berth-unclaimed", handle: [expect.objectContaining({ status_code: 404 })] })]);
    });
});
