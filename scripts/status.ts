/**
 * `npm run status -- --stack S`: what runs where, read from the hosts themselves: per host, each container of the
 * stack (role, image, health, up since), its data volumes, its proxy's routes, its names on the host's front door
 * (ingress); then the release the state records, and whether anything drifted from it (a preview: nothing is
 * changed). Shared state makes it the same answer on every teammate's machine.
 */
import { spawnSync } from "child_process";
import { readIngress } from "../components/docker/providers/ingress";
import { claims } from "../components/ingressConfig";
import { LABEL } from "../components/naming";
import { dockerOn, parseOptions, projectRoot, runMain, stackHosts, UsageError } from "./replicas";

const USAGE = "usage: npm run status -- --stack <stack>";

export interface ContainerRow {
    name: string;
    role: string;
    service: string;
    image: string;
    status: string;
}

/** `docker ps` lines (tab-separated: name, role label, service label, image, status) → rows, app first, then by role and name. */
export function containerRows(psOutput: string): ContainerRow[] {
    const order = ["app", "canary", "worker", "proxy", "dependency", "port", "backup"];
    return psOutput.split("\n").filter(Boolean).map((line) => {
        const [name, role = "", service = "", image = "", status = ""] = line.split("\t");
        return { name, role, service, image, status };
    }).sort((a, b) => (order.indexOf(a.role) + 1 || 99) - (order.indexOf(b.role) + 1 || 99) || a.name.localeCompare(b.name));
}

/** The stack's route on a host's front door: its names (under its path prefix), in maintenance or not. */
export interface FrontDoorRoute {
    domains: string[];
    pathPrefix: string;
    maintenance: boolean;
}

/** Each host's proxy routes as the state records them (the ProxyRoutes resources): host → `address:port` of each replica. */
export function proxyRoutes(deployment: { resources?: { type: string; outputs?: Record<string, unknown> }[] }): Map<string, string[]> {
    const routes = new Map<string, string[]>();
    for (const resource of deployment.resources ?? []) {
        const { host, upstreams } = resource.outputs ?? {};
        if (resource.type.endsWith("berth:ProxyRoutes") && typeof host === "string" && Array.isArray(upstreams)) routes.set(host, [...(routes.get(host) ?? []), ...upstreams]);
    }
    return routes;
}

/**
 * `docker inspect` lines (tab-separated: /name, the image reference it runs, its addresses) → each container's full
 * image reference (docker ps shortens a digest reference to its repository), and which container has each address.
 */
export function inspected(output: string): { images: Map<string, string>; names: Map<string, string> } {
    const images = new Map<string, string>();
    const names = new Map<string, string>();
    for (const line of output.split("\n").filter(Boolean)) {
        const [name, image = "", addresses = ""] = line.split("\t");
        images.set(name.replace(/^\//, ""), image);
        for (const address of addresses.split(" ").filter(Boolean)) names.set(address, name.replace(/^\//, ""));
    }
    return { images, names };
}

/** A proxy's upstreams (`address:port`) by container name where one has that address. */
export function namedUpstreams(upstreams: string[], names: Map<string, string>): string[] {
    return upstreams.map((upstream) => {
        const [address, port] = [upstream.slice(0, upstream.lastIndexOf(":")), upstream.slice(upstream.lastIndexOf(":") + 1)];
        return names.has(address) ? `${names.get(address)}:${port}` : upstream;
    });
}

/** What a proxy's release.conf (components/canary.ts) says of a release being watched, or undefined when none is. */
export function watchLine(releaseConf: string): string | undefined {
    const share = /^\s*(\d+)% canary;/m.exec(releaseConf)?.[1] ?? (/\$berth_release \{\s*default canary;/.test(releaseConf) ? "100" : undefined);
    return share && `  a new release is being watched (canary): ${share}% of requests go to its canary containers`;
}

/** One host's lines: its containers, aligned, its data volumes, its proxy's routes, a release being watched and its front door route. */
export function hostLines(host: string, rows: ContainerRow[], volumes: string[], route?: FrontDoorRoute, upstreams?: string[], watching?: string): string[] {
    const width = Math.max(0, ...rows.map((r) => r.name.length));
    return [
        `${host || "local engine"}:`,
        ...(rows.length > 0 ? rows.map((r) => `  ${r.name.padEnd(width)}  ${(r.service || r.role).padEnd(10)}  ${r.status.padEnd(24)}  ${r.image}`) : ["  no container of this stack"]),
        ...(volumes.length > 0 ? [`  volumes: ${volumes.join(", ")}`] : []),
        ...(upstreams ? [`  proxy routes to: ${upstreams.join(", ") || "nothing"}`] : []),
        ...(watching ? [watching] : []),
        ...(route ? [`  front door: ${route.domains.join(", ")}${route.pathPrefix ? ` under ${route.pathPrefix}` : ""}${route.maintenance ? " (maintenance)" : ""}`] : []),
    ];
}

/** The preview's change counts → "nothing drifted" or what a `up` would change. */
export function driftLine(changeSummary: Record<string, number>): string {
    const changes = Object.entries(changeSummary).filter(([op, n]) => op !== "same" && n > 0);
    return changes.length === 0 ? "drift: none (the hosts run what the state records)" : `drift: an up would ${changes.map(([op, n]) => `${op} ${n}`).join(", ")} (npm run pulumi -- preview --diff --stack <stack> shows what)`;
}

function pulumi(stack: string, ...args: string[]) {
    return spawnSync("pulumi", [...args, "--stack", stack], { cwd: projectRoot, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}

async function main(): Promise<number> {
    const { options } = parseOptions(process.argv.slice(2), { values: ["stack"] });
    if (!options.stack) throw new UsageError(USAGE);
    const stack = options.stack;
    const exported = pulumi(stack, "stack", "export");
    const routes = exported.status === 0 ? proxyRoutes(JSON.parse(exported.stdout).deployment ?? {}) : new Map<string, string[]>();
    for (const host of stackHosts(stack)) {
        const ps = dockerOn(host, "ps", "--all", "--filter", `label=${LABEL.stack}=${stack}`, "--format",
            `{{.Names}}\t{{.Label "${LABEL.role}"}}\t{{.Label "${LABEL.service}"}}\t{{.Image}}\t{{.Status}}`);
        const rows = containerRows(ps);
        const { images, names } = rows.length === 0 ? inspected("") : inspected(dockerOn(host, "inspect", "--format",
            "{{.Name}}\t{{.Config.Image}}\t{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", ...rows.map((r) => r.name)));
        for (const row of rows) row.image = images.get(row.name) ?? row.image;
        const volumes = dockerOn(host, "volume", "ls", "--filter", `label=${LABEL.stack}=${stack}`, "--format", "{{.Name}}").split("\n").filter(Boolean);
        // (No ingress on the host, or one that does not answer: the stack has no route there to show.)
        const ingress = await readIngress(host).catch(() => undefined);
        const route = ingress ? claims(ingress.apps).find((claim) => claim.stack === stack) : undefined;
        const upstreams = routes.get(host);
        const proxy = rows.find((r) => r.role === "proxy" && r.status.startsWith("Up"));
        const watching = proxy ? watchLine(dockerOn(host, "exec", proxy.name, "sh", "-c", "cat /etc/nginx/berth/release.conf 2>/dev/null || true")) : undefined;
        for (const line of hostLines(host, rows, volumes, route, upstreams && namedUpstreams(upstreams, names), watching)) console.log(line);
    }
    const outputs = pulumi(stack, "stack", "output", "--json");
    if (outputs.status === 0) {
        const { imageRef, urls } = JSON.parse(outputs.stdout) as { imageRef?: string; urls?: string[] };
        console.log(`release: ${imageRef ?? "none yet"}${urls?.length ? `; serving at ${urls.join(", ")}` : ""}`);
    }
    const preview = pulumi(stack, "preview", "--json");
    if (preview.status !== 0) {
        console.log(`drift: unknown, the preview failed: ${preview.stderr.trim().split("\n").pop()}`);
        return 1;
    }
    console.log(driftLine((JSON.parse(preview.stdout) as { changeSummary?: Record<string, number> }).changeSummary ?? {}));
    return 0;
}

// Run as `node tools/register-typescript.js scripts/status.ts …` (npm run status); imported by tests for its pure parts.
if (process.argv[1] === __filename) runMain(main);
