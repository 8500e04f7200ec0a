import { execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";

/** Where a Docker engine answers: a DOCKER_HOST value (`unix://…`, `ssh://user@host`, `tcp://…`); empty means the local default. */
export type DockerHost = string;

export interface DockerRunOptions {
    /** Written to the command's standard input (e.g. a password for `--password-stdin`). */
    stdin?: string;
    /** Extra environment, e.g. a throw-away DOCKER_CONFIG holding registry credentials. */
    env?: Record<string, string>;
    /** Kill the CLI after this many milliseconds (a hung probe must not hang a deploy). */
    timeoutMs?: number;
}

/** A docker CLI failure that keeps what the engine said, so errors name the real cause, the host and the fix. */
export class DockerError extends Error {
    constructor(readonly args: string[], readonly stderr: string, readonly exitCode: number | string | null, readonly host: DockerHost = "", readonly stdout = "") {
        const hint = engineHint(stderr, host);
        super(`docker ${args.join(" ")} failed on ${host || "the local engine"} (exit ${exitCode}): ${stderr.trim() || "no output"}${hint ? `\n${hint}` : ""}`);
    }
}

/** What to do about the failures that are about reaching a host or its resources, not about the deploy itself. */
export function engineHint(stderr: string, host: DockerHost): string | undefined {
    const where = host || "the local engine";
    const registry = /(?:https?:\/\/)?([a-z0-9.-]+:[0-9]+)\/v2\//i.exec(stderr)?.[1] ?? "the registry";
    const hints: [RegExp, string][] = [
        [/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key .* (is not known|mismatch)/i,
            `${where}: its SSH host key is not in known_hosts, or has changed. berth never skips that check: verify the key with the host's operator, then add it to ~/.ssh/known_hosts or to the stack's berth:knownHosts (ssh-keyscan prints it; compare the fingerprint first).`],
        [/Permission denied \(publickey|Too many authentication failures/i,
            `${where}: SSH refused the key. Put your public key in the deploy user's ~/.ssh/authorized_keys on the host, or load the right key (ssh-add, IdentityFile in ~/.ssh/config).`],
        [/Could not resolve hostname|Name or service not known/i, `${where}: its name does not resolve; check the address in berth:hosts.`],
        [/ssh: connect to host .*(Connection refused|timed out|No route to host|Network is unreachable)|Connection closed by remote host/i,
            `${where}: no SSH connection. Check that the machine is up, that sshd runs, and the address and port in berth:hosts.`],
        [/docker: (command )?not found|sh: .*docker.*not found/i, `${where}: no docker CLI on the host. Install Docker there (Debian: apt-get install docker.io) and add the SSH user to the docker group.`],
        [/permission denied while trying to connect to the Docker daemon|connect EACCES .*\.sock/i, `${where}: the SSH user may not use Docker. Add it to the docker group on the host.`],
        [/Cannot connect to the Docker daemon|Is the docker daemon running|connect (ENOENT|ECONNREFUSED) .*\.sock/i, `${where}: its Docker engine does not answer. Start dockerd there (systemctl start docker).`],
        [/no space left on device/i, `${where}: its disk is full. Free space (docker system prune removes unused images and stopped containers) or grow the disk, then run up again.`],
        [/x509|certificate signed by unknown authority|certificate is not valid/i,
            `${where} does not trust ${registry}'s certificate. Put the CA that signed it in /etc/docker/certs.d/${registry}/ca.crt on the host (no insecure-registries needed).`],
        [/\/v2\/.*(connection refused|i\/o timeout|no route to host|no such host)/i, `${where} cannot reach ${registry}. Check that the registry runs and that the host's network reaches it.`],
        [/unauthorized: authentication required|no basic auth credentials|401 Unauthorized/i, `${registry} refused berth's login: check berth:registryUser and the secret berth:registryPassword.`],
    ];
    return hints.find(([pattern]) => pattern.test(stderr))?.[1];
}

/**
 * berth's ssh for the docker CLI's ssh:// transport (tools/ssh/ssh): one multiplexed connection per host for a
 * whole run, host keys always checked, never a prompt.
 */
const SSH_WRAPPER_DIR = path.join(__dirname, "..", "..", "tools", "ssh");

/** Stacks' own host keys (berth:knownHosts), a file per stack; tools/ssh/ssh checks them besides the user's known_hosts. */
export const STACK_KNOWN_HOSTS_DIR = path.join(os.homedir(), ".ssh", "berth-known-hosts.d");

/** The stack (`<project>.<stack>`) whose berth:knownHosts this process's ssh connections trust; see useStackKnownHosts. */
let trustedStackKeys: string | undefined;

/**
 * Makes this process's ssh:// connections check host keys against `stackId`'s berth:knownHosts (its file in
 * STACK_KNOWN_HOSTS_DIR), besides the user's known_hosts, and against no other stack's: a key one stack's config
 * carries vouches for that stack's hosts alone. A process deploys one stack; berth's providers learn it from the
 * resource they serve, scripts from their --stack.
 */
export function useStackKnownHosts(stackId: string, dir = STACK_KNOWN_HOSTS_DIR): void {
    trustedStackKeys = path.join(dir, stackId);
}

/** Records a stack's berth:knownHosts lines where its ssh connections read them (none: its file goes), and uses them. */
export function trustStackHostKeys(stackId: string, lines: string[], dir = STACK_KNOWN_HOSTS_DIR): void {
    const file = path.join(dir, stackId);
    useStackKnownHosts(stackId, dir);
    if (lines.length === 0) {
        fs.rmSync(file, { force: true });
        return;
    }
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Written whole, then renamed: an ssh starting meanwhile reads the old list or the new one, never half of one.
    const partial = `${file}.${process.pid}.partial`;
    fs.writeFileSync(partial, `${lines.join("\n")}\n`, { mode: 0o600 });
    fs.renameSync(partial, file);
}

/**
 * The docker CLI's environment for `host`: ssh:// engines get berth's ssh first on PATH and, in BERTH_KNOWN_HOSTS,
 * the host keys of the stack this process deploys (useStackKnownHosts).
 */
export function cliEnvironment(host: DockerHost, extra: Record<string, string> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    const env = { ...base, ...extra };
    if (!host.startsWith("ssh://")) return env;
    const { BERTH_KNOWN_HOSTS: _inherited, ...rest } = env;
    return { ...rest, PATH: `${SSH_WRAPPER_DIR}${path.delimiter}${env.PATH ?? ""}`, ...(trustedStackKeys ? { BERTH_KNOWN_HOSTS: trustedStackKeys } : {}) };
}

/**
 * Runs the docker CLI against `host` and returns its standard output. The CLI, not an SDK, talks to the engine
 * because it already speaks every transport users configure (unix socket, TCP with TLS, SSH). An ssh:// engine is
 * reached through a local socket forwarded over the host's one SSH connection (see engineSocket).
 */
export async function docker(host: DockerHost, args: string[], options: DockerRunOptions = {}): Promise<string> {
    if (!host.startsWith("ssh://")) return run(host, host, args, options);
    try {
        return await run(`unix://${await engineSocket(host)}`, host, args, options);
    } catch (err) {
        // The SSH connection behind the socket ended (idle past its persistence, or the host went away): open it again once.
        // An EOF before any answer is the same ending met half-way: the master accepted the call as it exited, and
        // closed it before forwarding a byte (seen once in ~500 runs, on a `service rm` after an idle minute).
        if (!(err instanceof DockerError && /Cannot connect to the Docker daemon at unix:|connection refused|no such file|error during connect: .*: EOF$/im.test(err.stderr))) throw err;
        forwards.delete(host);
        return run(`unix://${await engineSocket(host)}`, host, args, options);
    }
}

function run(target: string, host: DockerHost, args: string[], options: DockerRunOptions): Promise<string> {
    const fullArgs = target ? ["--host", target, ...args] : args;
    return new Promise((resolve, reject) => {
        const child = execFile(
            "docker",
            fullArgs,
            // SIGKILL: an attached `docker run` passes SIGTERM on to its container (whose PID 1 may ignore it) and waits on.
            { env: cliEnvironment(host, options.env), maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 0, killSignal: "SIGKILL" },
            (error, stdout, stderr) => {
                if (error) {
                    reject(new DockerError(args, String(stderr || error.message), error.code ?? null, host, String(stdout)));
                } else {
                    resolve(String(stdout));
                }
            },
        );
        // A docker that exits before reading its input (refused at once) closes the pipe: the write's EPIPE is no
        // error of its own (the exit reports what went wrong), and unheard it would end the whole program.
        child.stdin?.on("error", () => undefined);
        child.stdin?.end(options.stdin ?? "");
    });
}

/**
 * One Engine API request (JSON in and out), over the same transports as `docker`: the local socket, a unix:// one,
 * or an ssh:// engine's forwarded socket. Used where no input may appear on a command line (a swarm join token) and
 * for inspects, which are most of a run's engine calls: a request on an open socket instead of a CLI process each.
 */
export async function engineApi(host: DockerHost, method: string, apiPath: string, body?: unknown, timeoutMs = 0, answer: "json" | "raw" = "json", headers: Record<string, string> = {}): Promise<any> {
    const socketPath = await apiSocket(host);
    if (!socketPath) throw new Error(`${host || process.env.DOCKER_HOST}: berth calls this engine's API only over a unix socket or ssh://`);
    try {
        return await apiRequest(socketPath, host, method, apiPath, body, timeoutMs, answer, headers);
    } catch (err) {
        // As in `docker`: the SSH connection behind a forwarded socket ended; open it again once.
        if (!(host.startsWith("ssh://") && err instanceof DockerError && /ECONNREFUSED|ENOENT/.test(err.stderr))) throw err;
        forwards.delete(host);
        return apiRequest(await engineSocket(host), host, method, apiPath, body, timeoutMs, answer, headers);
    }
}

/**
 * `docker start`: through the Engine API where it answers on a socket (a request instead of a CLI process, which
 * counts while two replicas start at once on a busy host), else the CLI. Starting a running container is no error.
 */
export async function startContainer(host: DockerHost, name: string): Promise<void> {
    if (!(await apiSocket(host))) {
        await docker(host, ["start", name]);
        return;
    }
    await engineApi(host, "POST", `/containers/${encodeURIComponent(name)}/start`).catch((err) => {
        if (!(err instanceof DockerError && err.exitCode === 304)) throw err; // 304: already started
    });
}

/**
 * `docker stop --time <seconds>` then `docker rm --force`: SIGTERM, up to `stopTimeoutSeconds` for the process to
 * finish, SIGKILL, removal. Through the Engine API where it answers on a socket (two requests instead of two CLI
 * processes, for each old replica of a release), else the CLI. Stopping a stopped container is no error; a missing
 * one fails as the CLI does ("No such container").
 */
export async function stopAndRemoveContainer(host: DockerHost, name: string, stopTimeoutSeconds: number): Promise<void> {
    if (!(await apiSocket(host))) {
        await docker(host, ["stop", "--time", String(stopTimeoutSeconds), name]);
        await docker(host, ["rm", "--force", name]);
        return;
    }
    const container = `/containers/${encodeURIComponent(name)}`;
    await engineApi(host, "POST", `${container}/stop?t=${stopTimeoutSeconds}`).catch((err) => {
        if (!(err instanceof DockerError && err.exitCode === 304)) throw err; // 304: already stopped
    });
    await engineApi(host, "DELETE", `${container}?force=true`);
}

/**
 * Runs `command` in a running container, as `docker exec` does, and returns its exit code (undefined if it did not
 * end within `timeoutMs`). Through the Engine API where it answers on a socket: three requests instead of a CLI
 * process, which counts for health probes repeated every quarter second while a release starts.
 */
export async function execIn(host: DockerHost, container: string, command: string[], timeoutMs: number): Promise<number | undefined> {
    if (!(await apiSocket(host))) {
        return docker(host, ["exec", container, ...command], { timeoutMs }).then(() => 0, (err) => (err instanceof DockerError && typeof err.exitCode === "number" ? err.exitCode : undefined));
    }
    return (await apiExec(host, container, command, {}, timeoutMs))?.exitCode;
}

/**
 * Runs `command` in a running container with `env` added, and returns its standard output; fails as `docker exec`
 * would (a missing or stopped container, a non-zero exit). Through the Engine API where it answers on a socket.
 */
export async function execOutput(host: DockerHost, container: string, command: string[], env: Record<string, string> = {}): Promise<string> {
    if (!(await apiSocket(host))) {
        return docker(host, ["exec", ...Object.entries(env).flatMap(([key, value]) => ["--env", `${key}=${value}`]), container, ...command]);
    }
    const result = (await apiExec(host, container, command, env, 0))!;
    if (result.exitCode !== 0) throw new DockerError(["exec", container, ...command], result.stderr, result.exitCode ?? null, host, result.stdout);
    return result.stdout;
}

/** An exec through the Engine API: its exit code and output, or undefined if it did not end within `timeoutMs`. */
async function apiExec(host: DockerHost, container: string, command: string[], env: Record<string, string>, timeoutMs: number): Promise<{ exitCode: number | undefined; stdout: string; stderr: string } | undefined> {
    const Env = Object.entries(env).map(([key, value]) => `${key}=${value}`);
    const exec = await engineApi(host, "POST", `/containers/${container}/exec`, { Cmd: command, Env, AttachStdout: true, AttachStderr: true });
    let output: Buffer;
    try {
        // Not detached: the engine answers once the command has ended, its output multiplexed in the body.
        output = await engineApi(host, "POST", `/exec/${exec.Id}/start`, { Detach: false, Tty: false }, timeoutMs, "raw");
    } catch (err) {
        if (err instanceof DockerError && err.stderr === TIMED_OUT) return undefined;
        throw err;
    }
    const exitCode = (await engineApi(host, "GET", `/exec/${exec.Id}/json`)).ExitCode ?? undefined;
    return { exitCode, ...demultiplex(output) };
}

/**
 * The standard output and error of an exec without a terminal: the engine sends them as frames, each an 8-byte
 * header (stream: 1 stdout, 2 stderr; then the length, big-endian, in its last 4 bytes) and that many bytes.
 */
export function demultiplex(raw: Buffer): { stdout: string; stderr: string } {
    const streams: Record<number, Buffer[]> = { 1: [], 2: [] };
    for (let offset = 0; offset + 8 <= raw.length;) {
        const length = raw.readUInt32BE(offset + 4);
        streams[raw[offset]]?.push(raw.subarray(offset + 8, offset + 8 + length));
        offset += 8 + length;
    }
    return { stdout: Buffer.concat(streams[1]).toString("utf8"), stderr: Buffer.concat(streams[2]).toString("utf8") };
}

const TIMED_OUT = "timed out";

/** The unix socket an engine's API answers on, or undefined where only the CLI reaches it (tcp://, another context). */
async function apiSocket(host: DockerHost): Promise<string | undefined> {
    if (host.startsWith("ssh://")) return engineSocket(host);
    if (host.startsWith("unix://")) return host.slice("unix://".length);
    if (host !== "") return undefined;
    const { DOCKER_HOST, DOCKER_CONTEXT } = process.env;
    if (DOCKER_HOST) return DOCKER_HOST.startsWith("unix://") ? DOCKER_HOST.slice("unix://".length) : undefined;
    return DOCKER_CONTEXT && DOCKER_CONTEXT !== "default" ? undefined : "/var/run/docker.sock";
}

/** One request; the answer parsed as JSON (or text), or its raw bytes (an exec's multiplexed output). */
function apiRequest(socketPath: string, host: DockerHost, method: string, apiPath: string, body: unknown, timeoutMs: number, answer: "json" | "raw", headers: Record<string, string>): Promise<any> {
    const payload = body === undefined ? "" : JSON.stringify(body);
    return new Promise((resolve, reject) => {
        const request = http.request({ socketPath, path: `/v1.41${apiPath}`, method, headers: { ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) } }, (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => {
                const raw = Buffer.concat(chunks);
                if ((response.statusCode ?? 500) >= 300) {
                    const text = raw.toString("utf8");
                    reject(new DockerError([method, apiPath], jsonOrText(text)?.message ?? text, response.statusCode ?? null, host));
                } else {
                    resolve(answer === "raw" ? raw : jsonOrText(raw.toString("utf8")));
                }
            });
        });
        request.on("error", (err) => reject(new DockerError([method, apiPath], err.message, null, host)));
        if (timeoutMs > 0) request.setTimeout(timeoutMs, () => request.destroy(new Error(TIMED_OUT)));
        request.end(payload);
    });
}

function jsonOrText(text: string): any {
    try {
        return text ? JSON.parse(text) : undefined;
    } catch {
        return text;
    }
}

const forwards = new Map<DockerHost, Promise<string>>();

/**
 * A local unix socket that reaches an ssh:// engine's API through that host's one multiplexed SSH connection
 * (tools/ssh/docker-socket), opened once per process: each docker call then costs what a local one does, with
 * no ssh client and no remote `docker system dial-stdio` process of its own. Failures (host key, login, network)
 * carry ssh's words and DockerError's hints.
 */
function engineSocket(host: DockerHost): Promise<string> {
    if (!forwards.has(host)) {
        const opened = new Promise<string>((resolve, reject) => {
            execFile(path.join(SSH_WRAPPER_DIR, "docker-socket"), [host], { env: cliEnvironment(host), timeout: 60_000 }, (error, stdout, stderr) =>
                error ? reject(new DockerError(["(ssh connection)"], String(stderr || error.message), error.code ?? null, host)) : resolve(String(stdout).trim()));
        });
        opened.catch(() => forwards.delete(host));
        forwards.set(host, opened);
    }
    return forwards.get(host)!;
}

type InspectKind = "container" | "image" | "network" | "volume" | "service";

/** Where the Engine API answers `docker <kind> inspect` (the CLI prints that answer as it is). */
const INSPECT_PATHS: Partial<Record<InspectKind, (id: string) => string>> = {
    container: (id) => `/containers/${id}/json`,
    image: (id) => `/images/${id}/json`,
    network: (id) => `/networks/${id}`,
    volume: (id) => `/volumes/${id}`,
};

/** `docker inspect` of one object, or undefined when it does not exist. */
export async function inspect<T = any>(host: DockerHost, kind: InspectKind, id: string): Promise<T | undefined> {
    const apiPath = INSPECT_PATHS[kind];
    try {
        if (apiPath && (await apiSocket(host))) return (await engineApi(host, "GET", apiPath(id))) as T;
        const out = await docker(host, [kind, "inspect", id]);
        return (JSON.parse(out) as T[])[0];
    } catch (err) {
        if (err instanceof DockerError && /no such|not found/i.test(err.stderr)) {
            return undefined;
        }
        throw err;
    }
}

/**
 * The engine's `GET apiPath` answer, or where only the CLI reaches the engine, the same document printed by
 * `docker <cliArgs> --format '{{json …}}'`.
 */
async function engineDocument(host: DockerHost, apiPath: string, cliArgs: string[], timeoutMs = 0): Promise<any> {
    if (await apiSocket(host)) return engineApi(host, "GET", apiPath, undefined, timeoutMs);
    return JSON.parse(await docker(host, cliArgs, { timeoutMs }));
}

/** What `docker info` reports (swarm state, log driver, storage, data root…). */
export function engineInfo(host: DockerHost, timeoutMs = 0): Promise<any> {
    return engineDocument(host, "/info", ["info", "--format", "{{json .}}"], timeoutMs);
}

/** The engine's own version (`docker version`'s Server part): asking it proves the host and its engine answer. */
export async function engineVersion(host: DockerHost, timeoutMs = 0): Promise<string> {
    return (await engineDocument(host, "/version", ["version", "--format", "{{json .Server}}"], timeoutMs)).Version;
}

/** `<flag> k=v` for each entry, in a stable order, so identical maps always produce identical commands. */
export function mapFlags(flag: string, values: Record<string, string> = {}): string[] {
    return Object.keys(values)
        .sort()
        .flatMap((key) => [flag, `${key}=${values[key]}`]);
}

/**
 * A volume's `--mount` value. The docker CLI reads it as comma-separated key=value fields, the last of a key winning,
 * so a source or target holding `,` or `=` (`/data,type=bind,source=/`) would add fields: refused, whatever checked
 * it before.
 */
export function mountSpec(mount: { source: string; target: string; readOnly: boolean; bind?: boolean }): string {
    for (const [field, value] of [["source", mount.source], ["target", mount.target]]) {
        if (/[,="\s]/.test(value) || value === "") throw new Error(`mount ${field} ${JSON.stringify(value)}: a volume mount's ${field} may not be empty or hold commas, =, quotes or spaces`);
    }
    return `type=${mount.bind ? "bind" : "volume"},source=${mount.source},target=${mount.target}${mount.readOnly ? ",readonly" : ""}`;
}

export function labelFlags(labels: Record<string, string> = {}): string[] {
    return mapFlags("--label", labels);
}
