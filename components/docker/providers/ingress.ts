// The front door of one engine: berth's Caddy container (made once, shared by every stack with berth:domains, removed
// by no stack) and the requests to its admin API, which listens on a socket inside it.
import * as pulumi from "@pulumi/pulumi";
import { docker, DockerError, DockerHost, inspect, labelFlags, startContainer } from "../cli";
import { BERTH_DAEMON, createArgs, DockerContainerInputs } from "../commands/container";
import { engineLogDriver } from "../engineFacts";
import { waitUntilHealthy } from "../health";
import { changedKeys, withEnvironment } from "../resource";
import { pullIfMissing, RegistryLogin } from "./image";
import { ADMIN_SOCKET, CaddyApps, claims, INGRESS_SERVER, initialConfig } from "../../ingressConfig";
import { LABEL } from "../../naming";

/** The ingress's container and volume on every engine: one of each, named alike for all stacks. */
export const INGRESS_NAME = "berth-ingress";
/** Where the volume is mounted in the container (the image's XDG_DATA_HOME and XDG_CONFIG_HOME are under it). */
export const INGRESS_HOME = "/var/lib/berth-ingress";
/** What the container and its volume carry instead of a stack's label: no stack owns them. */
export const INGRESS_LABELS = { [LABEL.role]: "ingress" };

export interface IngressInputs {
    host: DockerHost;
    image: string;
    /** The image's `<Caddy version>-<revision>` (its berth.ingress-version label): a host running an older one gets this one. */
    version: string;
    httpPort: number;
    httpsPort: number;
    logRotation: { maxSize: string; maxFiles: number };
    /** Login that pulls the image on an engine that lacks it; never recorded. */
    registry?: RegistryLogin;
}

/** What state keeps: the declared settings, and whether the ingress was found running when last looked at. */
export type RecordedIngress = Omit<IngressInputs, "registry"> & { running: boolean; runningImage: string; runningVersion: string };

/** Orders two `<Caddy version>-<revision>` strings (2.11.9-1 < 2.11.10-1 < 2.11.10-2); unreadable ones come first. */
export function compareVersions(a: string, b: string): number {
    const parts = (v: string) => (/^[0-9]+(\.[0-9]+)*-[0-9]+$/.test(v) ? v.split(/[.-]/).map(Number) : [-1]);
    const [x, y] = [parts(a), parts(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
        const d = (x[i] ?? 0) - (y[i] ?? 0);
        if (d !== 0) return Math.sign(d);
    }
    return 0;
}

/** The version-revision of the image a running ingress was made from. */
const versionOf = (found: any): string => String(found?.Config?.Labels?.[LABEL.ingressVersion] ?? "");

/** The container as `docker create` makes it: on the host's network (ports 80 and 443 themselves), its volume, restarted always. */
export function ingressContainer(inputs: IngressInputs): DockerContainerInputs {
    return {
        host: inputs.host,
        namePrefix: INGRESS_NAME,
        image: inputs.image,
        ...BERTH_DAEMON,
        env: { BERTH_INGRESS_CONFIG: initialConfig(inputs.httpPort, inputs.httpsPort) },
        labels: INGRESS_LABELS,
        networks: [{ name: "host", aliases: [] }],
        volumes: [{ source: INGRESS_NAME, target: INGRESS_HOME, readOnly: false }],
        logRotation: inputs.logRotation,
    };
}

/** Creates the ingress container `name` (not started). */
async function createIngress(inputs: IngressInputs, name: string): Promise<void> {
    const engineDriver = await engineLogDriver(inputs.host);
    await withEnvironment(ingressContainer(inputs).env, ({ flags, cliEnv }) => {
        const [create, ...rest] = createArgs(name, ingressContainer(inputs), engineDriver);
        return docker(inputs.host, [create, ...flags, ...rest], { env: cliEnv });
    });
}

/** Where a new ingress listens until it is given the host's ports: a socket inside its container. */
const DARK_SOCKET = "/run/caddy/dark.sock";
/** The volume's autosave, which a starting ingress resumes from (the image's XDG_CONFIG_HOME). */
const AUTOSAVE = `${INGRESS_HOME}/config/caddy/autosave.json`;

/** Writes `config` as the volume's autosave, through `container` (stdin: it holds any manual certificate's key). */
async function writeAutosave(host: DockerHost, container: string, config: string): Promise<void> {
    await docker(host, ["exec", "-i", container, "sh", "-c", `cat > ${AUTOSAVE}.new && mv ${AUTOSAVE}.new ${AUTOSAVE}`], { stdin: config });
}

/**
 * Names (of HTTPS sites) whose certificate `container` does not serve yet (a TLS handshake for it fails): on the
 * host's port 443, or on its dark socket. A wildcard is asked for as a name under it.
 */
export async function namesWithoutCertificate(host: DockerHost, container: string, names: string[], where: "--resolve-loopback" | "--dark-socket"): Promise<string[]> {
    const target = where === "--dark-socket" ? `--unix-socket ${DARK_SOCKET}` : '--resolve "$name:443:127.0.0.1"';
    const script = `for name in "$@"; do curl -sk -o /dev/null --max-time 5 ${target} "https://$name/" || echo "$name"; done`;
    return (await docker(host, ["exec", container, "sh", "-c", script, "sh", ...names.map((n) => n.replace(/^\*\./, "berth-check."))])).split("\n").filter(Boolean)
        .map((checked) => names.find((n) => n.replace(/^\*\./, "berth-check.") === checked) ?? checked);
}

/**
 * Replaces a running ingress with one of a newer image without a failed request. The new one starts *dark*: it
 * resumes the running config (every stack's routes, every certificate on the shared volume: nothing is issued
 * again) with its server on a socket inside its container, not on the host's ports, so no client reaches it before
 * it is ready; once it serves every name's certificate there, it is given the ports (beside the old one: Caddy binds
 * with SO_REUSEPORT), which also saves the real config, and only then does the old one stop, gracefully. If the new
 * one never gets ready, it is removed, the saved config is put back, and the old one serves on, unchanged.
 */
async function upgradeIngress(inputs: IngressInputs): Promise<void> {
    const next = `${INGRESS_NAME}-next`;
    await docker(inputs.host, ["rm", "--force", next]).catch(() => undefined);
    await pullIfMissing(inputs.host, inputs.image, inputs.registry);
    const answer = await adminRequest(inputs.host, "GET", "/config/");
    if (answer.status !== 200) throw new Error(`the ingress on ${inputs.host || "the local engine"} answered ${answer.status} reading its config: ${answer.body.trim()}`);
    const running = JSON.parse(answer.body);
    const server = running.apps.http.servers[INGRESS_SERVER];
    const ports: string[] = server.listen;
    // The names the running one serves with a certificate now: the new one must serve them too before it gets the ports
    // (a name still waiting for its certificate keeps waiting in the new one).
    const httpsNames = claims(running.apps).flatMap((c) => c.domains).filter((name) => !(server.automatic_https?.skip ?? []).includes(name));
    const unserved = await namesWithoutCertificate(inputs.host, INGRESS_NAME, httpsNames, "--resolve-loopback");
    const tlsNames = httpsNames.filter((name) => !unserved.includes(name));
    const dark = { ...running, apps: { ...running.apps, http: { ...running.apps.http, servers: { ...running.apps.http.servers, [INGRESS_SERVER]: { ...server, listen: [`unix/${DARK_SOCKET}`] } } } } };
    await writeAutosave(inputs.host, INGRESS_NAME, JSON.stringify(dark));
    try {
        await createIngress(inputs, next);
        await startContainer(inputs.host, next);
        await waitUntilHealthy(ingressContainer(inputs), next);
        const deadline = Date.now() + 60_000;
        let missing = await namesWithoutCertificate(inputs.host, next, tlsNames, "--dark-socket");
        for (; missing.length > 0 && Date.now() < deadline; missing = await namesWithoutCertificate(inputs.host, next, tlsNames, "--dark-socket")) {
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
        if (missing.length > 0) throw new Error(`it served no certificate for ${missing.join(", ")} within 60s`);
        const given = await adminRequest(inputs.host, "PATCH", `/config/apps/http/servers/${INGRESS_SERVER}/listen`, JSON.stringify(ports), undefined, next);
        if (given.status !== 200) throw new Error(`it refused the host's ports (${given.status}): ${given.body.trim()}`);
    } catch (err) {
        const logs = await docker(inputs.host, ["logs", "--tail", "10", next]).catch(() => "");
        await docker(inputs.host, ["rm", "--force", next]).catch(() => undefined);
        await writeAutosave(inputs.host, INGRESS_NAME, answer.body);
        throw new Error(`${inputs.host || "the local engine"}: the new ingress (${inputs.version}) did not start, so the running one serves on: ${(err as Error).message}${logs ? `\nlast log lines:\n${logs}` : ""}`);
    }
    await docker(inputs.host, ["stop", "--time", String(ingressContainer(inputs).stopTimeoutSeconds), INGRESS_NAME]);
    await docker(inputs.host, ["rm", INGRESS_NAME]);
    await docker(inputs.host, ["rename", next, INGRESS_NAME]);
}

/**
 * The ingress on `host` running and healthy: adopted as it is when another stack made it (upgraded first when it runs
 * an older version than this stack brings), else made (or started).
 */
async function ensureIngress(inputs: IngressInputs): Promise<RecordedIngress> {
    const container = ingressContainer(inputs);
    let found = await inspect(inputs.host, "container", INGRESS_NAME);
    if (found?.State?.Running && compareVersions(inputs.version, versionOf(found)) > 0) {
        await upgradeIngress(inputs);
        found = await inspect(inputs.host, "container", INGRESS_NAME);
    }
    if (!found) {
        if (!(await inspect(inputs.host, "volume", INGRESS_NAME))) {
            await docker(inputs.host, ["volume", "create", ...labelFlags(INGRESS_LABELS), INGRESS_NAME]);
        }
        await pullIfMissing(inputs.host, inputs.image, inputs.registry);
        await createIngress(inputs, INGRESS_NAME).catch((err) => {
            // Another stack's up made it first: that one is the host's ingress.
            if (!(err instanceof DockerError && /is already in use/.test(err.stderr))) throw err;
        });
        // The engine reserves the name before the container exists: another stack's may take a moment to appear.
        for (let waited = 0; !(found = await inspect(inputs.host, "container", INGRESS_NAME)) && waited < 30_000; waited += 200) {
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
    }
    if (found?.State?.Health?.Status === "starting" || !found?.State?.Running) {
        await startContainer(inputs.host, INGRESS_NAME);
        try {
            await waitUntilHealthy(container, INGRESS_NAME);
        } catch (err) {
            const logs = await docker(inputs.host, ["logs", "--tail", "10", INGRESS_NAME]).catch(() => "");
            throw new Error(`${inputs.host || "the local engine"}: the ingress did not start: ${(err as Error).message}. `
                + `Are ports ${inputs.httpPort} and ${inputs.httpsPort} free on that host (ss -ltnp)?${logs ? `\nlast log lines:\n${logs}` : ""}`);
        }
        found = await inspect(inputs.host, "container", INGRESS_NAME);
    }
    return recorded(inputs, found);
}

function recorded(inputs: IngressInputs | RecordedIngress, found: any): RecordedIngress {
    const { registry: _login, ...rest } = inputs as IngressInputs;
    return { ...rest, running: found?.State?.Running === true, runningImage: String(found?.Config?.Image ?? ""), runningVersion: versionOf(found) };
}

/** One answer of the admin API. */
export interface AdminAnswer {
    status: number;
    etag: string;
    body: string;
}

/** How long one admin request may take (a config load with a new certificate policy returns at once; issuance runs after). */
const ADMIN_TIMEOUT_MS = 60_000;

/** The status line, ETag and body of curl's `--include` output. */
export function parseAdminAnswer(output: string): AdminAnswer {
    const split = output.indexOf("\r\n\r\n");
    const head = split < 0 ? output : output.slice(0, split);
    const status = Number(/^HTTP\/[0-9.]+ ([0-9]{3})/.exec(head)?.[1] ?? 0);
    const etag = /^etag:\s*(.*?)\s*$/im.exec(head)?.[1] ?? "";
    return { status, etag, body: split < 0 ? "" : output.slice(split + 4) };
}

/**
 * One request to the ingress's admin API, through `docker exec` and curl in the container; a body travels on stdin,
 * so no certificate key reaches a command line.
 */
export async function adminRequest(host: DockerHost, method: string, apiPath: string, body?: string, ifMatch?: string, container = INGRESS_NAME): Promise<AdminAnswer> {
    const args = ["exec", ...(body !== undefined ? ["-i"] : []), container, "curl", "-sS", "--include", "--max-time", String(ADMIN_TIMEOUT_MS / 1000),
        "--unix-socket", ADMIN_SOCKET, "-X", method,
        ...(body !== undefined ? ["-H", "Content-Type: application/json", "--data-binary", "@-"] : []),
        ...(ifMatch ? ["-H", `If-Match: ${ifMatch}`] : []),
        `http://localhost${apiPath}`];
    return parseAdminAnswer(await docker(host, args, { stdin: body, timeoutMs: ADMIN_TIMEOUT_MS + 10_000 }));
}

/** The ingress's running `apps` and their ETag, or undefined when `host` has no ingress running. */
export async function readIngress(host: DockerHost): Promise<{ apps: CaddyApps; etag: string } | undefined> {
    let answer: AdminAnswer;
    try {
        answer = await adminRequest(host, "GET", "/config/apps");
    } catch (err) {
        if (err instanceof DockerError && /no such container|is not running|is restarting/i.test(err.stderr)) return undefined;
        throw err;
    }
    if (answer.status !== 200) throw new Error(`the ingress on ${host || "the local engine"} answered ${answer.status} reading its config: ${answer.body.trim()}`);
    return { apps: JSON.parse(answer.body), etag: answer.etag };
}

/**
 * Changes the running ingress's config with `change`, only if nobody changed it since it was read (If-Match on its
 * ETag); read again and retried when someone did, so stacks updating one ingress at once never lose each other's routes.
 */
export async function changeIngress(host: DockerHost, change: (apps: CaddyApps) => CaddyApps): Promise<CaddyApps> {
    for (let attempt = 0; attempt < 20; attempt++) {
        const current = await readIngress(host);
        if (!current) throw new Error(`${host || "the local engine"} has no ingress running (container ${INGRESS_NAME}): run up again to start it`);
        const next = change(current.apps);
        const answer = await adminRequest(host, "PATCH", "/config/apps", JSON.stringify(next), current.etag);
        if (answer.status === 412) continue;
        if (answer.status !== 200) throw new Error(`the ingress on ${host || "the local engine"} refused the config (${answer.status}): ${answer.body.trim()}`);
        return next;
    }
    throw new Error(`the ingress on ${host || "the local engine"} kept changing while berth wrote to it: run up again`);
}

const keys = ["host", "httpPort", "httpsPort"] as const;

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: IngressInputs) {
        return { id: `${inputs.host || "local"}/${INGRESS_NAME}`, outs: await ensureIngress(inputs) };
    },
    async diff(_id: string, olds: RecordedIngress, news: IngressInputs) {
        if (changedKeys(olds, news, keys).length > 0) return { changes: true };
        // Shared by the host's stacks: what matters is the ingress running, at this stack's version or a newer one
        // (a stack of an older berth leaves a newer ingress alone).
        const found = await inspect(olds.host, "container", INGRESS_NAME);
        return { changes: found?.State?.Running !== true || compareVersions(news.version, versionOf(found)) > 0 };
    },
    async update(_id: string, _olds: RecordedIngress, news: IngressInputs) {
        return { outs: await ensureIngress(news) };
    },
    async read(id: string, props: RecordedIngress) {
        return { id, props: recorded(props, await inspect(props.host, "container", INGRESS_NAME)) };
    },
    // Shared by the engine's stacks: `destroy` of one removes its routes (IngressRoute), never the ingress.
    async delete() {},
};
