/**
 * The front door's Caddy config (its `apps`), as each stack changes its own part of it: a route by `Host` (and path
 * prefix) to the stack's proxy, and how the stack's names get certificates. Pure: berth reads the running config
 * (with its ETag), computes the new one here and writes it back only if nothing changed meanwhile (If-Match), so two
 * stacks updating one host's ingress at once never lose each other's routes.
 */
import type { TlsMode } from "./config/types";
import { canonicalJson } from "./docker/resource";

/** What one stack asks of a host's ingress. */
export interface IngressSite {
    stack: string;
    /** Names it answers for (a wildcard only as the whole first label: `*.staging.example.com`). */
    domains: string[];
    /** Only requests under this path (`/api`), or every path (""). */
    pathPrefix: string;
    /** Where the stack's own proxy listens on the host (`127.0.0.1:21000`). */
    upstream: string;
    tls: TlsMode;
    /** With tls acme: the directory, the account's email, and PEM files (in the ingress) trusted for the CA's API. */
    acme?: { server: string; email: string; trustedRoots: string[] };
    /** With tls manual: the stack's certificate (chain after it) and key, PEM. */
    certificate?: { certificate: string; privateKey: string };
    /** Answer 503 with a plain page instead of passing requests on. */
    maintenance: boolean;
    /** HTTP Strict-Transport-Security on its HTTPS answers. */
    hsts: boolean;
    /** Largest request body passed on, in bytes (0: no limit). */
    maxBodyBytes: number;
}

/** The parts of Caddy's JSON config berth writes (`apps`); anything else in it is left as it is. */
export interface CaddyApps {
    http: { servers: Record<string, CaddyServer> };
    tls?: { automation?: { policies?: CaddyTlsPolicy[]; [key: string]: unknown }; certificates?: { load_pem?: CaddyLoadedCertificate[]; [key: string]: unknown }; [key: string]: unknown };
    [app: string]: unknown;
}

interface CaddyServer {
    listen: string[];
    routes: CaddyRoute[];
    automatic_https?: { skip?: string[]; [key: string]: unknown };
    [key: string]: unknown;
}

interface CaddyRoute {
    "@id"?: string;
    match?: { host?: string[]; path?: string[] }[];
    handle: Record<string, unknown>[];
    terminal?: boolean;
}

interface CaddyLoadedCertificate {
    certificate: string;
    key: string;
    tags?: string[];
}

interface CaddyTlsPolicy {
    "@id"?: string;
    subjects?: string[];
    issuers?: Record<string, unknown>[];
    [key: string]: unknown;
}

/** The one server of berth's ingress. */
export const INGRESS_SERVER = "ingress";

const ROUTE_ID = "berth-route-";
const routeId = (stack: string) => `${ROUTE_ID}${stack}`;
const policyId = (stack: string) => `berth-tls-${stack}`;
/** The tag of a stack's own certificate among those loaded. */
const certificateTag = (stack: string) => `berth-${stack}`;

/** The last route: a name or path no stack claims gets 404 (Caddy's own answer would be an empty 200). */
const UNCLAIMED: CaddyRoute = {
    "@id": "berth-unclaimed",
    handle: [{ handler: "static_response", status_code: 404, headers: { "Content-Type": ["text/plain; charset=utf-8"] }, body: "No site here.\n" }],
    terminal: true,
};

/** Where the admin API listens: a socket inside the ingress container, reached with docker exec only. */
export const ADMIN_SOCKET = "/run/caddy/admin.sock";

/**
 * A fresh ingress: one server listening on the host's ports, no routes yet. Each stack's route redirects plain HTTP
 * itself (siteRoute), so Caddy's own redirects are off: a name served without TLS is never redirected.
 */
export function emptyIngress(httpPort: number, httpsPort: number): CaddyApps {
    return {
        http: { servers: { [INGRESS_SERVER]: { listen: [`:${httpPort}`, `:${httpsPort}`], routes: [UNCLAIMED], automatic_https: { disable_redirects: true, skip: [] } } } },
        // How often certificates are checked for renewal (Caddy's default: 10 minutes): a cheap look at its own cache,
        // often enough that a short-lived certificate (days, or minutes on a test CA) is renewed well before it expires.
        tls: { automation: { policies: [], renew_interval: "30s" } },
    };
}

/** The whole config a new ingress starts with: its admin socket and emptyIngress. */
export function initialConfig(httpPort: number, httpsPort: number): string {
    return JSON.stringify({
        admin: { listen: `unix/${ADMIN_SOCKET}` },
        // Its healthcheck asks the admin API every 2 s: those requests are not worth a log line each.
        logging: { logs: { default: { exclude: ["admin.api"] } } },
        apps: emptyIngress(httpPort, httpsPort),
    });
}

/** The stack that claims one of `site`'s names under the same path prefix, other than `site`'s own. */
export function claimedBy(apps: CaddyApps, site: Pick<IngressSite, "stack" | "domains" | "pathPrefix">): { stack: string; domain: string } | undefined {
    const path = pathMatcher(site.pathPrefix);
    for (const route of server(apps).routes) {
        const stack = route["@id"]?.startsWith(ROUTE_ID) ? route["@id"].slice(ROUTE_ID.length) : undefined;
        if (stack === undefined || stack === site.stack) continue;
        const match = route.match?.[0] ?? {};
        const samePath = JSON.stringify(match.path ?? []) === JSON.stringify(path ?? []);
        const domain = site.domains.find((d) => (match.host ?? []).includes(d));
        if (samePath && domain !== undefined) return { stack, domain };
    }
    return undefined;
}

/** `apps` with `site` in place of whatever its stack had there before. */
export function withSite(apps: CaddyApps, site: IngressSite): CaddyApps {
    const next = withoutSite(apps, site.stack);
    const srv = server(next);
    srv.routes = sortRoutes([...srv.routes, siteRoute(site)]);
    if (site.tls === "off") srv.automatic_https = { ...srv.automatic_https, skip: [...(srv.automatic_https?.skip ?? []), ...site.domains].sort() };
    if (site.tls === "acme") {
        if (!site.acme) throw new Error(`stack ${site.stack}: tls acme needs the ACME server and email`);
        const policies = next.tls?.automation?.policies ?? [];
        next.tls = { ...next.tls, automation: { ...next.tls?.automation, policies: byKey([...policies, acmePolicy(site.stack, site.domains, site.acme)], (p) => p["@id"] ?? "") } };
    }
    if (site.tls === "manual") {
        if (!site.certificate) throw new Error(`stack ${site.stack}: tls manual needs the certificate and key`);
        const loaded = next.tls?.certificates?.load_pem ?? [];
        const own = { certificate: site.certificate.certificate, key: site.certificate.privateKey, tags: [certificateTag(site.stack)] };
        next.tls = { ...next.tls, certificates: { ...next.tls?.certificates, load_pem: byKey([...loaded, own], (c) => c.tags?.join(",") ?? "") } };
    }
    return next;
}

/** `apps` without anything of `stack`: its route, its certificate policy, its names in the skip list. */
export function withoutSite(apps: CaddyApps, stack: string): CaddyApps {
    const next: CaddyApps = JSON.parse(JSON.stringify(apps));
    const srv = server(next);
    const old = srv.routes.find((r) => r["@id"] === routeId(stack));
    const oldNames = new Set(old?.match?.[0]?.host ?? []);
    srv.routes = srv.routes.filter((r) => r["@id"] !== routeId(stack));
    if (srv.automatic_https?.skip) srv.automatic_https.skip = srv.automatic_https.skip.filter((name) => !oldNames.has(name));
    const policies = next.tls?.automation?.policies;
    if (policies) next.tls!.automation!.policies = policies.filter((p) => p["@id"] !== policyId(stack));
    const loaded = next.tls?.certificates?.load_pem;
    if (loaded) next.tls!.certificates!.load_pem = loaded.filter((c) => !c.tags?.includes(certificateTag(stack)));
    return next;
}

function server(apps: CaddyApps): CaddyServer {
    const srv = apps.http?.servers?.[INGRESS_SERVER];
    if (!srv) throw new Error(`the ingress config has no server "${INGRESS_SERVER}"`);
    return srv;
}

function pathMatcher(prefix: string): string[] | undefined {
    return prefix === "" ? undefined : [prefix, `${prefix}/*`];
}

/**
 * A stack's route: its names (and path prefix) to its proxy, or to the maintenance page; with TLS, plain HTTP is
 * redirected (308: a POST stays a POST). ACME's HTTP-01 challenges are answered by Caddy before any route.
 */
export function siteRoute(site: IngressSite): CaddyRoute {
    const path = pathMatcher(site.pathPrefix);
    const serve: Record<string, unknown>[] = [];
    if (site.hsts && site.tls !== "off") {
        serve.push({ handler: "headers", response: { set: { "Strict-Transport-Security": ["max-age=31536000"] } } });
    }
    if (site.maintenance) {
        serve.push({
            handler: "static_response",
            status_code: 503,
            headers: { "Content-Type": ["text/plain; charset=utf-8"], "Retry-After": ["120"] },
            body: "Down for maintenance; back soon.\n",
        });
    } else {
        if (site.maxBodyBytes > 0) serve.push({ handler: "request_body", max_size: site.maxBodyBytes });
        serve.push({
            handler: "reverse_proxy",
            upstreams: [{ dial: site.upstream }],
            // A connection the stack's proxy refuses (it is being replaced) is tried again rather than failed.
            load_balancing: { try_duration: "10s", try_interval: "100ms" },
        });
    }
    const redirect = {
        match: [{ protocol: "http" }],
        handle: [{ handler: "static_response", status_code: 308, headers: { Location: ["https://{http.request.host}{http.request.uri}"] } }],
    };
    const routes = site.tls === "off" ? [{ handle: serve }] : [redirect, { handle: serve }];
    return { "@id": routeId(site.stack), match: [{ host: site.domains, ...(path ? { path } : {}) }], handle: [{ handler: "subroute", routes }], terminal: true };
}

/**
 * The most specific claim answers (Caddy tries routes in order): exact names before wildcards (`feature-x.staging…`
 * before `*.staging…`), then path prefixes before whole hosts, longer prefixes first; the unclaimed answer last.
 */
function sortRoutes(routes: CaddyRoute[]): CaddyRoute[] {
    const wildcard = (r: CaddyRoute) => ((r.match?.[0]?.host ?? []).some((h) => h.startsWith("*.")) ? 1 : 0);
    const prefix = (r: CaddyRoute) => Math.max(0, ...(r.match?.[0]?.path ?? []).map((p) => p.length));
    const last = (r: CaddyRoute) => (r["@id"] === UNCLAIMED["@id"] ? 1 : 0);
    return [...routes].sort((a, b) => last(a) - last(b) || wildcard(a) - wildcard(b) || prefix(b) - prefix(a) || (a["@id"] ?? "").localeCompare(b["@id"] ?? ""));
}

/** Sorted by a key: the same sites always give the same config, whatever order stacks came in. */
function byKey<T>(items: T[], key: (item: T) => string): T[] {
    return [...items].sort((a, b) => key(a).localeCompare(key(b)));
}

/** Whether the running config has `site` exactly as declared (its route, certificate policy or certificate): else it drifted. */
export function servesSite(apps: CaddyApps, site: IngressSite): boolean {
    return canonicalJson(withSite(apps, site)) === canonicalJson(apps);
}

/** Each stack's claim on the ingress, as its route says: names and path prefix, and whether it is in maintenance. */
export function claims(apps: CaddyApps): { stack: string; domains: string[]; pathPrefix: string; maintenance: boolean }[] {
    return server(apps).routes.filter((r) => r["@id"]?.startsWith(ROUTE_ID)).map((route) => ({
        stack: route["@id"]!.slice(ROUTE_ID.length),
        domains: route.match?.[0]?.host ?? [],
        pathPrefix: route.match?.[0]?.path?.[0] ?? "",
        maintenance: JSON.stringify(route.handle).includes('"status_code":503'),
    }));
}


function acmePolicy(stack: string, domains: string[], acme: NonNullable<IngressSite["acme"]>): CaddyTlsPolicy {
    return {
        "@id": policyId(stack),
        subjects: domains,
        issuers: [{ module: "acme", ca: acme.server, email: acme.email, ...(acme.trustedRoots.length > 0 ? { trusted_roots_pem_files: acme.trustedRoots } : {}) }],
    };
}
