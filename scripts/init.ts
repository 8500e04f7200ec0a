/**
 * `npm run init -- --stack S --app NAME --context PATH|GIT-URL [--hosts h1,h2] [--registry R] [--port N]
 * [--services redis,postgres] [--force]`: a stack for your own app. Checks the app's image contract on this machine's
 * engine first (builds it once, starts it with PORT set, finds the port it listens on and its healthcheck, and
 * says what is missing), then writes Pulumi.S.yaml with the app's own name, context, port and services (none
 * unless asked), and prints the secrets to set and the commands that follow. Exits 1 when the image misses part
 * of its contract (the stack file is written all the same, to fix and check again with --force), 2 on a usage error.
 */
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { ConfigError, ErrorCollector } from "../components/config/errors";
import { parseDockerHost, parseName, parsePort, parseRegistry } from "../components/config/fields";
import { isRemoteEngine } from "../components/config/hosts";
import { schemaDefaults } from "../components/config/defaults";
import { presets, serviceKinds } from "../components/serviceKinds";
import { parseOptions, projectRoot, runMain, UsageError } from "./replicas";

const USAGE = "usage: npm run init -- --stack <stack> --app <name> --context <path or git URL> [--hosts <ssh://user@host,…>] [--registry <host[:port][/namespace]>] [--port <port>] [--services <kind,…>] [--force]";

/** How long the started image may take to listen, and then to report healthy. */
const LISTEN_SECONDS = 30;
const HEALTHY_SECONDS = 90;

export interface InitOptions {
    stack: string;
    app: string;
    /** As written into berth:appContext: relative to berth's checkout when inside it, else absolute. */
    context: string;
    hosts: string[];
    registry: string;
    port: number;
    services: string[];
}

/** What starting the image showed. */
export interface ContractCheck {
    /** PORT it was given. */
    port: number;
    /** TCP ports it listened on. */
    listening: number[];
    /** Its HEALTHCHECK (empty: none) and the state it reached. */
    healthcheck: string;
    health: "healthy" | "unhealthy" | "starting" | "none";
    hasShell: boolean;
    /** Its last log lines, when something is missing. */
    logs: string;
}

/** A git URL (cloned into berth's checkout), as opposed to a directory. */
export function isGitUrl(context: string): boolean {
    return /^(https?|ssh|git|file):\/\//.test(context) || /^[\w.-]+@[\w.-]+:/.test(context);
}

/** Every option checked against berth's config grammar at once; the context's form only (its content later). */
export function parseInitOptions(options: Record<string, string | boolean | undefined>, defaultPort: number): InitOptions {
    const c = new ErrorCollector();
    const text = (key: string) => (typeof options[key] === "string" ? (options[key] as string) : "");
    for (const key of ["stack", "app", "context"]) {
        if (!text(key)) throw new UsageError(`--${key} is required\n${USAGE}`);
    }
    const stack = c.take(() => {
        if (!/^[A-Za-z0-9_.-]{1,100}$/.test(text("stack"))) throw new ConfigError("stack", text("stack"), "use letters, digits, _, . and - (a Pulumi stack name)");
        return text("stack");
    }, "");
    const app = c.take(() => parseName("app", text("app")), "");
    const hosts = text("hosts") ? text("hosts").split(",").map((host, i) => c.take(() => parseDockerHost(`hosts[${i}]`, host.trim()), "")) : [];
    const registry = text("registry") ? c.take(() => { parseRegistry("registry", text("registry")); return text("registry"); }, "") : "";
    const port = text("port") ? c.take(() => parsePort("port", text("port")), 0) : defaultPort;
    const kinds = serviceKinds.filter((k) => k !== "custom");
    const services = text("services") ? text("services").split(",").map((s) => s.trim()).map((s, i) => c.take(() => {
        if (!(kinds as readonly string[]).includes(s)) throw new ConfigError(`services[${i}]`, s, `use one of ${kinds.join(", ")} (custom services: edit berth:services after init)`);
        return s;
    }, "")) : [];
    try {
        c.throwIfAny();
    } catch (err) {
        // Named as typed on the command line (each value is checked with its config key's grammar all the same).
        throw new UsageError((err as Error).message.replace(/invalid config berth:(\w+)(\[\d+\])? =/g, "--$1$2 ="));
    }
    return { stack, app, context: text("context"), hosts, registry, port, services };
}

/** TCP ports in LISTEN state in `/proc/<pid>/net/tcp` and `tcp6` text. */
export function listeningPorts(procNetTcp: string): number[] {
    const ports = procNetTcp.split("\n").map((line) => line.trim().split(/\s+/)).filter((f) => f[3] === "0A" && /:[0-9A-F]{4}$/.test(f[1] ?? ""))
        .map((f) => parseInt(f[1].slice(-4), 16));
    return [...new Set(ports)].sort((a, b) => a - b);
}

/** What the image lacks of berth's contract, each with its fix; empty when it has it all. */
export function contractProblems(check: ContractCheck, orchestratorSwarm = false): string[] {
    const problems: string[] = [];
    if (check.listening.length === 0) {
        problems.push(`nothing listened on a TCP port within ${LISTEN_SECONDS} s of starting with PORT=${check.port}: the app must serve HTTP on the port in $PORT`);
    } else if (!check.listening.includes(check.port)) {
        problems.push(`it listens on ${check.listening.join(", ")}, not on PORT=${check.port}: read the port from $PORT, or run init again with --port ${check.listening[0]}`);
    }
    if (!check.healthcheck) {
        problems.push("the image has no HEALTHCHECK: add one to its Dockerfile (e.g. HEALTHCHECK CMD curl -fsS http://127.0.0.1:$PORT/ || exit 1), or set berth:healthcheck: berth starts no replica without one, so a release never sends traffic to an app that is not up");
    } else if (check.health !== "healthy") {
        problems.push(`its HEALTHCHECK (${check.healthcheck}) did not pass within ${HEALTHY_SECONDS} s (state: ${check.health})`);
    }
    if (orchestratorSwarm && !check.hasShell) problems.push("it has no /bin/sh, which berth's Swarm mode needs (its healthcheck runs through the shell)");
    return problems;
}

const quote = (value: unknown) => JSON.stringify(value);

/** Pulumi.<stack>.yaml for `options`: only what differs from Pulumi.yaml's defaults, and the sample's services off. */
export function stackFile(options: InitOptions, defaults: Record<string, unknown>): string {
    const lines = [
        `# ${options.app}: made by \`npm run init\`. Every key and its default: docs/configuration.md. Secrets go in with`,
        "# `npm run pulumi -- config set --secret berth:<key> --stack " + options.stack + "` (encrypted in this file).",
        "config:",
        `  berth:app: ${quote(options.app)}`,
        `  berth:appContext: ${quote(options.context)}`,
    ];
    if (options.port !== defaults.containerPort) lines.push(`  berth:containerPort: ${options.port}`);
    lines.push(`  berth:services: ${options.services.length > 0 ? `{ ${options.services.map((s) => `${s}: { kind: ${s} }`).join(", ")} }` : "{}"}`);
    lines.push(`  berth:dependsOn: ${quote(options.services)}`);
    if (options.hosts.length > 0) {
        lines.push("  berth:hosts:", ...options.hosts.map((host) => `    - ${quote(host)}`));
        // One replica per host at least (berth refuses fewer).
        if (options.hosts.length > Number(defaults.replicas)) lines.push(`  berth:replicas: ${options.hosts.length}`);
        // On a remote host, loopback would be reachable from that host alone.
        if (options.hosts.some(isRemoteEngine)) lines.push(`  berth:bindAddress: "0.0.0.0"`);
    }
    if (options.registry) lines.push(`  berth:registry: ${quote(options.registry)}`);
    return `${lines.join("\n")}\n`;
}

/** The secrets the stack needs before its first `up`. */
export function secretsToSet(options: InitOptions): string[] {
    const remote = options.hosts.some(isRemoteEngine);
    const needs = options.services.filter((s) => {
        const password = presets[s as keyof typeof presets].password;
        return password === "always" || (password === "acrossHosts" && options.hosts.length > 1);
    }).map((s) => `${s}Password`);
    return [...(remote || options.registry ? ["registryPassword"] : []), ...needs];
}

/** berth:appContext for a directory: relative to berth's checkout when inside it (portable), else absolute. */
function contextSetting(dir: string): string {
    const relative = path.relative(projectRoot, dir);
    return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : dir;
}

/** The app's build context on this machine: the directory, or a shallow clone of the git URL under apps/. */
function resolveContext(context: string, app: string): string {
    if (!isGitUrl(context)) {
        const dir = path.resolve(context);
        if (!fs.existsSync(path.join(dir, "Dockerfile"))) throw new UsageError(`--context ${context}: no Dockerfile in ${dir}`);
        return dir;
    }
    const dir = path.join(projectRoot, "apps", app);
    if (!fs.existsSync(dir)) {
        const cloned = spawnSync("git", ["clone", "--depth", "1", "--", context, dir], { encoding: "utf8", timeout: 300_000 });
        if (cloned.status !== 0) throw new UsageError(`--context ${context}: git clone failed: ${(cloned.stderr || cloned.error?.message || "").trim()}`);
    }
    if (!fs.existsSync(path.join(dir, "Dockerfile"))) throw new UsageError(`--context ${context}: no Dockerfile at the top of the repository (cloned into ${dir})`);
    return dir;
}

const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 600_000 }).trim();

/** Builds the image on this machine's engine and starts it once, as berth would (PORT set), to see what it does. */
async function checkImage(app: string, dir: string, port: number): Promise<ContractCheck> {
    const image = `berth-init/${app}:check`;
    console.log(`berth: building ${dir} to check its image…`);
    const built = spawnSync("docker", ["build", "-q", "-t", image, dir], { encoding: "utf8", timeout: 1_800_000 });
    if (built.status !== 0) throw new UsageError(`the image did not build:\n${(built.stderr || built.stdout).trim().split("\n").slice(-15).join("\n")}`);
    const inspected = JSON.parse(docker("image", "inspect", image))[0];
    const test: string[] = inspected.Config?.Healthcheck?.Test ?? [];
    const healthcheck = test.length > 0 && test[0] !== "NONE" ? test.slice(1).join(" ") : "";
    const hasShell = spawnSync("docker", ["run", "--rm", "--entrypoint", "/bin/sh", image, "-c", "true"], { timeout: 60_000 }).status === 0;
    const name = `berth-init-${app}-${crypto.randomBytes(3).toString("hex")}`;
    docker("run", "-d", "--name", name, "--env", `PORT=${port}`, image);
    try {
        // Until it listens on PORT, or has listened on the same other ports for 2 s (it settled elsewhere), or stopped.
        let listening: number[] = [];
        let settledSince = 0;
        for (const deadline = Date.now() + LISTEN_SECONDS * 1000; Date.now() < deadline; await sleep(500)) {
            const pid = docker("inspect", "--format", "{{.State.Pid}}", name);
            if (pid === "0") break;
            const now = listeningPorts(["tcp", "tcp6"].map((f) => fs.readFileSync(`/proc/${pid}/net/${f}`, "utf8")).join("\n"));
            settledSince = now.length > 0 && now.join() === listening.join() ? settledSince || Date.now() : 0;
            listening = now;
            if (listening.includes(port) || (settledSince && Date.now() - settledSince >= 2000)) break;
        }
        let health: ContractCheck["health"] = "none";
        if (healthcheck) {
            for (const deadline = Date.now() + HEALTHY_SECONDS * 1000; Date.now() < deadline; await sleep(1000)) {
                health = (docker("inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", name) || "starting") as ContractCheck["health"];
                if (health !== "starting") break;
            }
        }
        const logs = spawnSync("docker", ["logs", "--tail", "10", name], { encoding: "utf8" });
        return { port, listening, healthcheck, health, hasShell, logs: `${logs.stdout}${logs.stderr}`.trim() };
    } finally {
        spawnSync("docker", ["rm", "--force", name]);
    }
}

async function main(): Promise<number> {
    const { options } = parseOptions(process.argv.slice(2), { values: ["stack", "app", "context", "hosts", "registry", "port", "services"], flags: ["force"] });
    const defaults = schemaDefaults();
    let init = parseInitOptions(options, Number(defaults.containerPort));
    const file = path.join(projectRoot, `Pulumi.${init.stack}.yaml`);
    if (fs.existsSync(file) && !options.force) throw new UsageError(`${path.basename(file)} exists already: --force writes it again`);
    const dir = resolveContext(init.context, init.app);
    init = { ...init, context: contextSetting(dir) };
    const check = await checkImage(init.app, dir, init.port);
    const problems = contractProblems(check);
    fs.writeFileSync(file, stackFile(init, defaults));
    console.log(`berth: wrote ${path.basename(file)} (app ${init.app}, context ${init.context}, port ${init.port}, services: ${init.services.join(", ") || "none"})`);
    if (problems.length > 0) {
        console.error(`berth: the image of ${init.app} misses part of what berth needs:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        if (check.logs) console.error(`its last log lines:\n${check.logs}`);
        console.error(`Fix the image, then check it again: npm run init -- ${process.argv.slice(2).filter((a) => a !== "--force").join(" ")} --force`);
        return 1;
    }
    console.log(`berth: the image listens on PORT ${init.port} and its healthcheck passes${check.hasShell ? "" : " (it has no /bin/sh: fine on hosts, needed on a swarm)"}.`);
    const secrets = secretsToSet(init);
    console.log(["Next (the stack in your state backend first: PULUMI_BACKEND_URL, or .pulumi-state/ here):",
        `  npm run pulumi -- stack init ${init.stack}`,
        ...secrets.map((key) => `  npm run pulumi -- config set --secret berth:${key} --stack ${init.stack}`),
        `  npm run pulumi -- preview --stack ${init.stack}`,
        `  npm run pulumi -- up --stack ${init.stack}`].join("\n"));
    return 0;
}

// Run as `node tools/register-typescript.js scripts/<this>.ts …` (npm run …); imported by tests for its pure parts.
if (process.argv[1] === __filename) runMain(main);
