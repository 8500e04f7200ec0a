/**
 * Real-engine harness: throw-away stacks of this project driven through the Automation API against a local
 * file backend and the real Docker engine. Nothing here is mocked; a missing engine or CLI fails loudly.
 */
import { execFile, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { ConfigMap, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { POOL_USER_FILE } from "../hostPool";
import { logsDir, testHostsDir } from "../../components/cacheLayout";
import { initialConfig } from "../../components/ingressConfig";

export const projectRoot = path.resolve(__dirname, "../..");

export function docker(...args: string[]): string {
    return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

/** Fails with what to do when the setup has not run, instead of skipping. */
export function requireToolchain(): void {
    const problems: string[] = [];
    try {
        execFileSync("pulumi", ["version"], { stdio: "ignore" });
    } catch {
        problems.push("the Pulumi CLI is not on PATH");
    }
    try {
        docker("info", "--format", "{{.ServerVersion}}");
    } catch {
        problems.push("no Docker engine answers");
    }
    if (!process.env.BERTH_REGISTRY_PASSWORD_FILE || !fs.existsSync(process.env.BERTH_REGISTRY_PASSWORD_FILE)) {
        problems.push("the local registry's credentials are missing");
    }
    if (problems.length > 0) {
        throw new Error(`integration tests need the real toolchain: ${problems.join("; ")}. Run them with 'npm test' (it runs setup first).`);
    }
}

/** The test hosts' registry (scripts/hosts.sh): TLS with a CA every test host and the local engine trust. */
export const testRegistry = "192.168.240.2:5000";

/**
 * The shared pool of test hosts (scripts/hosts.sh), made to exist with `count` hosts (idempotent: hosts that are
 * healthy are kept, so test files share one pool); returns their engine addresses. Removed after the run. With
 * `swarm`, their engines run as a swarm needs (no live-restore): hosts of the other kind are made again.
 */
export async function testHosts(count = 3, options: { swarm?: boolean; acmeValiditySeconds?: number } = {}): Promise<string[]> {
    // Not execFileSync: starting hosts can take minutes, and a test worker that blocks that long misses vitest's
    // own messages (it then reports "Timeout calling onTaskUpdate").
    const out = await new Promise<string>((resolve, reject) => {
        const child = execFile("bash", [path.join(projectRoot, "scripts/hosts.sh"), "up", String(count), ...(options.swarm ? ["--swarm"] : []),
            ...(options.acmeValiditySeconds ? ["--acme-validity", String(options.acmeValiditySeconds)] : [])], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
            (error, stdout) => (error ? reject(error) : resolve(stdout)));
        child.stderr?.pipe(process.stderr);
    });
    // The run that used the pool removes it when it ends (test/hostPool.ts).
    if (process.env.BERTH_TEST_RUN) fs.writeFileSync(POOL_USER_FILE, process.env.BERTH_TEST_RUN);
    const lines = out.trim().split("\n");
    if (options.acmeValiditySeconds) {
        const said = (label: string) => lines.find((line) => line.startsWith(`${label}: `))?.slice(label.length + 2);
        testAcme = { directory: said("acme")!, roots: fs.readFileSync(said("acme-roots")!, "utf8") };
    }
    return lines.slice(-count);
}

/** The test hosts' ACME server (pebble), once testHosts started it: its directory and the roots that verify what it issues. */
export let testAcme: { directory: string; roots: string } | undefined;

/** The CA of the test hosts' registry and ACME server's https (scripts/hosts.sh). */
export const testHostsCa = () => fs.readFileSync(path.join(testHostsDir(), "registry", "tls", "ca.crt"), "utf8");

/** `docker` against one engine (e.g. a test host over SSH). */
export function dockerAt(engine: string, ...args: string[]): string {
    return execFileSync("docker", ["--host", engine, ...args], { encoding: "utf8", timeout: 120_000 }).trim();
}

/**
 * Makes `engine`'s running ingress look older than this berth's (its image again, under an older version label) and
 * starts it as berth does, so the next `up` of a stack with domains upgrades it. Returns the image it ran.
 */
export function startOlderIngress(engine: string): string {
    const running = dockerAt(engine, "inspect", "--format", "{{.Config.Image}}", "berth-ingress");
    execFileSync("docker", ["--host", engine, "build", "-q", "-t", "berth/ingress:older", "--label", "berth.ingress-version=2.0.0-0", "-"], { input: `FROM ${running}\n`, encoding: "utf8" });
    dockerAt(engine, "rm", "--force", "berth-ingress");
    runIngressByHand(engine, "berth/ingress:older");
    return running;
}

/** `docker run` of an ingress from `image`, as berth makes it (host network, its volume, restarted always). */
export function runIngressByHand(engine: string, image: string): void {
    dockerAt(engine, "run", "-d", "--name", "berth-ingress", "--label", "berth.role=ingress", "--network", "host", "--restart", "always",
        "--mount", "type=volume,source=berth-ingress,target=/var/lib/berth-ingress", "--env", `BERTH_INGRESS_CONFIG=${initialConfig(80, 443)}`, image);
}

/** Removes a stack's objects from test hosts: what a destroy keeps (data volumes) and anything a failed test left. */
export function cleanHosts(engines: string[], stack: string): void {
    for (const engine of engines) {
        for (const kind of ["container", "network", "volume"] as const) {
            // A swarm's overlay networks (scope swarm) go with their services, through a manager.
            const ids = dockerAt(engine, kind, "ls", ...(kind === "container" ? ["-a"] : []), ...(kind === "network" ? ["--filter", "scope=local"] : []), "-q", "--filter", `label=berth.stack=${stack}`).split("\n").filter(Boolean);
            if (ids.length > 0) dockerAt(engine, kind, "rm", ...(kind === "container" ? ["-f"] : []), ...ids);
        }
    }
}

/** The service stand-ins as the test hosts pull them, from the hosts' registry. */
export const hostServices = {
    redis: { kind: "redis", image: `${testRegistry}/berth/redis:7` },
    postgres: { kind: "postgres", image: `${testRegistry}/berth/postgres:15` },
};

/**
 * A port that is free now, below the kernel's ephemeral range (32768+), so no outbound connection can take it
 * between this check and the container binding it.
 */
export async function freePort(): Promise<number> {
    for (;;) {
        const port = 20000 + crypto.randomInt(12000);
        const free = await new Promise<boolean>((resolve) => {
            const server = net.createServer().once("error", () => resolve(false));
            server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
        });
        if (free) return port;
    }
}

export interface ThrowawayStack {
    stack: Stack;
    name: string;
    /** Its backend and passphrase, for running project scripts (npm run …) against it. */
    envVars: Record<string, string>;
    /** Removes the stack, its config file and every Docker object labelled with it, volumes and images included. */
    remove(): Promise<void>;
}

export interface ThrowawayOptions {
    /** Another Pulumi project to run (a test fixture); this project by default. */
    workDir?: string;
    /** The stack's name instead of a random one. */
    name?: string;
    /** A state backend's URL (e.g. a team's postgres://…) instead of a new local directory. */
    backend?: string;
}

/** A new stack `it-<random>` of this project with the dev stack's services and the given config on top. */
export async function throwawayStack(config: Record<string, string | object> = {}, secrets: Record<string, string> = {}, options: ThrowawayOptions = {}): Promise<ThrowawayStack> {
    requireToolchain();
    const name = options.name ?? `it-${crypto.randomBytes(3).toString("hex")}`;
    const backend = options.backend ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), "berth-state-"));
    const envVars = { PULUMI_BACKEND_URL: options.backend ?? `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "integration-tests", PULUMI_CONFIG_PASSPHRASE_FILE: "", PULUMI_NODEJS_TRANSPILE_ONLY: "true" };
    const stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: options.workDir ?? projectRoot }, { envVars });
    const settings: ConfigMap = {
        "berth:registryPassword": { value: fs.readFileSync(process.env.BERTH_REGISTRY_PASSWORD_FILE!, "utf8").trim(), secret: true },
        "berth:postgresPassword": { value: crypto.randomBytes(12).toString("hex"), secret: true },
        "berth:hostPort": { value: String(await freePort()) },
        // Its own image repository (<registry>/shop/<stack>), so concurrent stacks never share a moving tag.
        "berth:branch": { value: name },
    };
    for (const [key, value] of Object.entries(secrets)) settings[`berth:${key}`] = { value, secret: true };
    const objects: Record<string, object> = { services: devServices };
    for (const [key, value] of Object.entries(config)) {
        if (typeof value === "string") settings[`berth:${key}`] = { value };
        else objects[key] = value;
    }
    await stack.setAllConfig(settings);
    for (const [key, value] of Object.entries(objects)) await setObjectConfig(stack, key, value);
    return {
        stack,
        name,
        envVars,
        async remove() {
            // Protected data volumes stay in state (and on the engine) until removed below.
            await stack.destroy({ color: "never", excludeProtected: true }).catch(() => undefined);
            for (const kind of ["container", "network", "volume"] as const) {
                const ids = docker(kind, "ls", ...(kind === "container" ? ["-a"] : []), "-q", "--filter", `label=berth.stack=${name}`)
                    .split("\n").filter(Boolean);
                if (ids.length > 0) docker(kind, "rm", ...(kind === "container" ? ["-f"] : []), ...ids);
            }
            const images = docker("image", "ls", "-q", "--filter", `label=berth.built-by=${name}`).split("\n").filter(Boolean);
            // --no-prune: the untagged layers under it are the next test's build cache (the legacy builder has no other).
            if (images.length > 0) docker("image", "rm", "--force", "--no-prune", ...new Set(images));
            await stack.workspace.removeStack(name, { force: true }).catch(() => undefined);
            if (backend) fs.rmSync(backend, { recursive: true, force: true });
        },
    };
}

/** The dev stack's services: Debian-built stand-ins of the official images. */
export const devServices = { redis: { kind: "redis", image: "berth/redis:7" }, postgres: { kind: "postgres", image: "berth/postgres:15" } };

/** Sets an object-valued key the way `pulumi config set --path` does, so it keeps its object type. */
export async function setObjectConfig(stack: Stack, key: string, value: object): Promise<void> {
    const flat: ConfigMap = {};
    const walk = (prefix: string, v: unknown) => {
        if (Array.isArray(v)) {
            v.forEach((child, i) => walk(`${prefix}[${i}]`, child));
        } else if (v && typeof v === "object") {
            for (const [k, child] of Object.entries(v)) walk(`${prefix}.${k}`, child);
        } else {
            flat[prefix] = { value: String(v) };
        }
    };
    walk(`berth:${key}`, value);
    await stack.removeConfig(`berth:${key}`).catch(() => undefined);
    await stack.setAllConfig(flat, true);
}

/** A copy of the sample app outside git, to change its code without touching the repository. */
export function appCopy(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-app-copy-"));
    fs.cpSync(path.join(projectRoot, "app"), dir, { recursive: true, filter: (src) => !src.includes("node_modules") });
    return dir;
}

/** How a release of the sample app answers GET /checkout: a route of its own, so a release can break just that route. */
export type Checkout = "good" | "failing" | "slow";
const CHECKOUT: Record<Checkout, string> = {
    good: "async () => [200, { version, hostname: os.hostname() }]",
    failing: "async () => [500, { error: 'checkout is broken in this release' }]",
    slow: "async () => { await new Promise((resolve) => setTimeout(resolve, 1500)); return [200, { version, hostname: os.hostname() }]; }",
};

/** Writes a new release of the sample app into `context` (an appCopy): /checkout answering as `checkout`; a new image each time. */
export function writeCheckoutRelease(context: string, checkout: Checkout): void {
    const rootRoute = "'/': { GET: async () => [200, { version, hostname: os.hostname() }] },";
    const original = fs.readFileSync(path.join(projectRoot, "app", "server.js"), "utf8");
    if (!original.includes(rootRoute)) throw new Error(`app/server.js no longer declares ${rootRoute}: writeCheckoutRelease needs it`);
    const code = original.replace(rootRoute, `${rootRoute}\n    '/checkout': { GET: ${CHECKOUT[checkout]} },`);
    fs.writeFileSync(path.join(context, "server.js"), `${code}\n// release ${Date.now()}-${Math.random()}\n`);
}

/** A healthcheck file for the sample app that asks for / (which needs none of its services), as berth:healthcheck's command `node live.js`. */
export function writeLiveProbe(context: string): { command: string; intervalSeconds: number; timeoutSeconds: number; retries: number; startPeriodSeconds: number } {
    fs.writeFileSync(path.join(context, "live.js"), "require('http').get({ host: '127.0.0.1', port: process.env.PORT, path: '/', timeout: 2000 }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1));\n");
    return { command: "node live.js", intervalSeconds: 1, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 1 };
}

/** Container name → id of a stack's containers. */
export function containerIds(stackName: string): Record<string, string> {
    const lines = docker("ps", "-a", "--filter", `label=berth.stack=${stackName}`, "--format", "{{.Names}} {{.ID}}").split("\n").filter(Boolean);
    return Object.fromEntries(lines.map((line) => line.split(" ")));
}

/** Containers, networks and volumes carrying a stack's label. */
export function dockerObjects(stackName: string): { containers: string[]; networks: string[]; volumes: string[] } {
    const list = (...args: string[]) => docker(...args, "--filter", `label=berth.stack=${stackName}`, "--format", "{{.Name}}").split("\n").filter(Boolean);
    return {
        containers: docker("ps", "-a", "--filter", `label=berth.stack=${stackName}`, "--format", "{{.Names}}").split("\n").filter(Boolean),
        networks: list("network", "ls"),
        volumes: list("volume", "ls"),
    };
}

export async function http(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
    const response = await fetch(url, {
        method,
        headers: body ? { "content-type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    let json: any = text;
    try {
        json = JSON.parse(text);
    } catch {
        // not JSON: keep the text for the assertion message
    }
    return { status: response.status, json };
}

/** Preview options that run berth's policy pack, treating `productionStacks` as production. */
export function withPolicies(productionStacks: string[]): { policyPacks: string[]; policyPackConfigs: string[] } {
    const config = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "berth-policy-")), "config.json");
    fs.writeFileSync(config, JSON.stringify({ "production-images-pinned-by-digest": { productionStacks } }));
    return { policyPacks: [path.join(projectRoot, "policy")], policyPackConfigs: [config] };
}

/**
 * The engine's own health verdict on a container, once it has one. berth counts a container as created when its
 * healthcheck command passes, run by berth; the engine runs the same check only after its interval, so right
 * after `up` it may still say "starting". Tests check that the engine agrees. `waitFor`: the verdicts to wait out
 * (a replica the engine marked unhealthy while a service was gone turns healthy again at its next passing check).
 */
export async function engineHealth(container: string, timeoutMs = 60_000, waitFor: string[] = ["starting"]): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const status: string = JSON.parse(docker("inspect", container))[0].State.Health?.Status ?? "none";
        if (!waitFor.includes(status) || Date.now() > deadline) return status;
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
}

/**
 * Stops a test host's dockerd (`npm run hosts -- stop`), leaves the host without an engine for `downSeconds`, starts
 * it again and resolves once it answers at `engine`.
 */
export async function restartTestHostEngine(host: string, engine: string, downSeconds = 2, seconds = 60): Promise<void> {
    const pid = Number(fs.readFileSync(path.join(testHostsDir(), host, "dockerd.pid"), "utf8"));
    const deadline = Date.now() + seconds * 1000;
    const waitFor = async (what: string, done: () => boolean) => {
        while (!done()) {
            if (Date.now() > deadline) throw new Error(`${host}'s dockerd: ${what} did not happen within ${seconds}s`);
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
    };
    const hosts = (...args: string[]) => execFileSync("bash", [path.join(projectRoot, "scripts/hosts.sh"), ...args], { encoding: "utf8" });
    hosts("stop", host);
    await waitFor("its exit", () => !fs.existsSync(`/proc/${pid}`));
    await new Promise((resolve) => setTimeout(resolve, downSeconds * 1000));
    hosts("start", host);
    await waitFor("answering again", () => {
        try {
            return dockerAt(engine, "info", "--format", "{{.ServerVersion}}") !== "";
        } catch {
            return false;
        }
    });
}

/**
 * Stops the local dockerd (SIGTERM, as an upgrade does) and starts it again with the same command line, detached
 * as setup starts it; resolves once it answers. Fails loudly when the local engine is not such a process (a
 * systemd-managed one is restarted by systemd, not here).
 */
export async function restartLocalEngine(seconds = 60): Promise<void> {
    const pid = Number(fs.readFileSync("/var/run/docker.pid", "utf8"));
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    if (path.basename(argv[0] ?? "") !== "dockerd") throw new Error(`/var/run/docker.pid names ${pid} (${argv.join(" ")}), not a dockerd`);
    const deadline = Date.now() + seconds * 1000;
    const waitFor = async (what: string, done: () => boolean) => {
        while (!done()) {
            if (Date.now() > deadline) throw new Error(`the local dockerd: ${what} did not happen within ${seconds}s`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    };
    process.kill(pid, "SIGTERM");
    await waitFor("its exit", () => !fs.existsSync(`/proc/${pid}`));
    const log = fs.openSync(path.join(logsDir(), "dockerd.log"), "a");
    spawn(argv[0], argv.slice(1), { detached: true, stdio: ["ignore", log, log] }).unref();
    fs.closeSync(log);
    await waitFor("answering again", () => {
        try {
            return docker("info", "--format", "{{.ServerVersion}}") !== "";
        } catch {
            return false;
        }
    });
}

/**
 * One request by name to the front door at `address`, as a browser would send it (curl, checking the certificate
 * against `roots`): status, body, redirect, and the served certificate's serial.
 */
export function requestByName(url: string, roots: string, address: string): { status: number; body: string; serial: string; location: string } {
    const name = new URL(url).hostname;
    const script = 'd=$(mktemp -d) && printf "%s" "$ROOTS" > "$d/roots" && curl -sS --max-time 10 --cacert "$d/roots" --resolve "$NAME:$PORT:$ADDRESS" -o "$d/body" '
        + '-w "%{http_code} %{redirect_url}\n%{certs}" "$URL"; rc=$?; printf "\n@@body@@\n"; cat "$d/body" 2>/dev/null; rm -rf "$d"; exit $rc';
    const out = execFileSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, ROOTS: roots, NAME: name, PORT: url.startsWith("https:") ? "443" : "80", ADDRESS: address, URL: url } });
    const [head, body] = out.split("\n@@body@@\n");
    const [statusLine, ...certs] = head.split("\n");
    const [status, location = ""] = statusLine.split(" ");
    return { status: Number(status), body, serial: /Serial Number:\s*([0-9a-f:]+)/i.exec(certs.join("\n"))?.[1] ?? "", location };
}

/** Processes whose environment holds `text` (e.g. a test stack's backend URL). */
export function processesWith(text: string): number[] {
    return fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid).filter((pid) => {
        try {
            return fs.readFileSync(`/proc/${pid}/environ`, "utf8").includes(text);
        } catch {
            return false; // gone meanwhile
        }
    }).map(Number);
}

/** `npm run state-server -- up` on a test host, its image from the test hosts' registry (a login of its own); its output. */
export function stateServer(engine: string): string {
    const config = fs.mkdtempSync(path.join(os.tmpdir(), "berth-docker-config-"));
    try {
        execFileSync("docker", ["login", testRegistry, "--username", "berth", "--password-stdin"], { input: fs.readFileSync(process.env.BERTH_REGISTRY_PASSWORD_FILE!), env: { ...process.env, DOCKER_CONFIG: config }, stdio: ["pipe", "ignore", "pipe"] });
        return execFileSync("npm", ["run", "--silent", "state-server", "--", "up", "--host", engine, "--image", hostServices.postgres.image], { cwd: projectRoot, encoding: "utf8", env: { ...process.env, DOCKER_CONFIG: config } });
    } finally {
        fs.rmSync(config, { recursive: true, force: true });
    }
}
