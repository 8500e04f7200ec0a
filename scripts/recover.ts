/**
 * `node tools/register-typescript.js scripts/recover.ts <stack>`: makes a stack whose last `up` was killed (a
 * cancelled CI job, a closed laptop) deployable again with no manual step. berth's entry points (npm start,
 * npm run pulumi, npm run branch) run it before every operation:
 * - a lock left by a process of this machine that no longer exists is removed (what `pulumi cancel` does, but only
 *   when the holder is provably gone; a live holder keeps its lock, nothing else is touched, and Pulumi refuses the
 *   operation naming the holder);
 * - containers that carry the stack's label but that its state does not own (started by the killed run, or its
 *   release gate) are removed: they run outside the proxy and would block `destroy` of the network;
 * - pending operations the killed run left in state (creates that never returned) are dropped once their containers
 *   are gone, so the next `up` needs no interactive refresh.
 * Only for backends whose locks berth can read (file://, berth's default, and postgres://: stateLocks.ts), which
 * show whether a run is in progress anywhere.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cliEnvironment, engineHint, useStackKnownHosts } from "../components/docker/cli";
import { stackKnownHostsId } from "../components/docker/dockerResource";
import { PROJECT } from "./replicas";
import { LABEL } from "../components/naming";
import { endWatch } from "../components/docker/providers/canaryRelease";
import { isPostgresBackend, withoutPassword } from "./stateBackend";
import { isAlive, judgeLocks, locksOf, removeLock, StateLock } from "./stateLocks";

const CONTAINER_TYPE = "pulumi-nodejs:dynamic/berth:DockerContainer";

interface StateResource {
    type: string;
    id?: string;
    outputs?: Record<string, unknown>;
}

export interface Deployment {
    resources?: StateResource[];
    pending_operations?: { resource: StateResource; type: string }[];
}

/** Names of the containers a stack's state owns, and the engines it deploys to. */
export function ownedContainers(deployment: Deployment): { names: Set<string>; hosts: Set<string> } {
    const names = new Set<string>();
    const hosts = new Set<string>();
    for (const resource of deployment.resources ?? []) {
        const host = resource.outputs?.host;
        if (resource.type.startsWith("pulumi-nodejs:dynamic/berth:") && typeof host === "string") hosts.add(host);
        if (resource.type !== CONTAINER_TYPE) continue;
        for (const name of [resource.outputs?.name, resource.id]) if (typeof name === "string" && name) names.add(name);
    }
    return { names, hosts };
}

/** The labelled containers on an engine that the state does not own. */
export function orphans(labelled: string[], owned: Set<string>): string[] {
    return labelled.filter((name) => !owned.has(name));
}

/** The locks of a stack in a `file://` backend (each key the lock file's path); no heartbeat is kept there. */
function fileBackendLocks(backend: string, stack: string): StateLock[] {
    const dir = path.join(backend.slice("file://".length).replace(/^~(?=\/)/, os.homedir()), ".pulumi", "locks", "organization", PROJECT, stack);
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => {
        const content = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
        return { key: path.join(dir, f), pid: content.pid, hostname: content.hostname, username: content.username, timestamp: content.timestamp };
    });
}

/** How long lifting a split waits at most for the proxy's old workers (nginx's worker_shutdown_timeout). */
const PROXY_DRAIN_SECONDS = 30;

const where = (host: string) => host || "the local engine";

function say(message: string): void {
    process.stderr.write(`berth: ${message}\n`);
}

/** A recovery that could not ask an engine: said in words, without a stack trace. */
export class RecoveryError extends Error {}

/** Why recovery stopped at a host, what it tried and what to do; nothing was changed anywhere. */
export function unreachableMessage(stack: string, host: string, stderr: string): string {
    const where = host || "the local Docker engine";
    return [
        `stack ${stack}: ${where} does not answer, so berth could not look for containers an interrupted run left there (docker ps --filter label=${LABEL.stack}=${stack}). Nothing was changed on any host.`,
        `What the docker CLI said: ${stderr.trim().split("\n")[0] || "nothing"}`,
        engineHint(stderr, host) ?? `Check that ${where} answers (is the machine up, does dockerd run there?), then run again.`,
    ].join("\n");
}

/** Writes a stack's state back (`pulumi stack import`), through a private file that is removed after. */
export function importState(state: object, pulumi: (...args: string[]) => string): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-state-import-"));
    try {
        const file = path.join(dir, "state.json");
        fs.writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
        pulumi("stack", "import", "--file", file);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * Judges the stack's locks (stateLocks.ts) and removes the stale ones through `remove` (false: it changed meanwhile),
 * saying why either way; true while a live run holds one.
 */
async function clearStaleLocks(stack: string, locks: StateLock[], remove: (lock: StateLock) => Promise<boolean>): Promise<boolean> {
    let held = false;
    for (const { lock, stale, why } of judgeLocks(locks, { hostname: os.hostname(), isAlive }, new Date())) {
        const holder = `${lock.username}@${lock.hostname} (pid ${lock.pid}, since ${lock.timestamp})`;
        if (stale && (await remove(lock))) {
            say(`stack ${stack}: removed the lock of ${holder}: ${why}`);
        } else {
            held = true;
            say(`stack ${stack}: locked by ${holder}: ${why}`);
        }
    }
    return held;
}

/** The stack's locks cleared where berth can read them (a file backend, a Postgres one); true while a live run holds one. */
async function recoverLocks(backend: string, stack: string): Promise<boolean> {
    if (backend.startsWith("file://")) {
        return clearStaleLocks(stack, fileBackendLocks(backend, stack), async (lock) => (fs.rmSync(lock.key, { force: true }), true));
    }
    try {
        return await clearStaleLocks(stack, await locksOf(backend, PROJECT, stack), (lock) => removeLock(backend, lock));
    } catch (err) {
        throw new RecoveryError(`stack ${stack}: the state backend ${withoutPassword(backend)} does not answer: ${(err as Error).message}. Nothing was changed. Check that its database runs and this machine reaches it (npm run state-server -- up prints its URL).`);
    }
}

/** What to say when the passphrase does not open the stack's secrets (Pulumi's error line), or undefined if it does. */
export function passphraseProblem(stack: string, backend: string, pulumiError: string): string | undefined {
    const said = pulumiError.trim().split("\n").find((line) => /passphrase/i.test(line));
    if (!said) return undefined;
    return [
        `stack ${stack}: its secrets cannot be opened with this machine's passphrase (Pulumi: ${said.replace(/^error: /, "")}). Nothing was run.`,
        `Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the passphrase of the stacks in ${withoutPassword(backend) || "the backend"}: a team shares one (README "Teams").`,
    ].join("\n");
}

export async function recoverStack(stack: string, options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<void> {
    const env = { ...process.env, ...options.env };
    const backend = env.PULUMI_BACKEND_URL ?? "";
    // A wrong or missing passphrase stops here, before any lock, container or state is touched.
    const secrets = spawnSync("pulumi", ["config", "--show-secrets", "--json", "--stack", stack], { cwd: options.cwd, env, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 });
    const problem = secrets.status === 0 ? undefined : passphraseProblem(stack, backend, secrets.stderr ?? "");
    if (problem) throw new RecoveryError(problem);
    // Only where the locks can be read can berth know that no run is in progress elsewhere; a run in progress owns
    // what it is creating: nothing of it is an orphan (Pulumi refuses the second run).
    if (!(backend.startsWith("file://") || isPostgresBackend(backend)) || (await recoverLocks(backend, stack))) return;
    const pulumi = (...args: string[]) => execFileSync("pulumi", [...args, "--stack", stack], { cwd: options.cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    let exported: { deployment?: Deployment };
    try {
        exported = JSON.parse(pulumi("stack", "export"));
    } catch {
        return; // no such stack yet, or no state: nothing to recover
    }
    const deployment = exported.deployment ?? {};
    const { names, hosts } = ownedContainers(deployment);
    useStackKnownHosts(stackKnownHostsId(PROJECT, stack));
    for (const host of hosts) {
        const docker = (...args: string[]) => {
            try {
                return execFileSync("docker", host ? ["--host", host, ...args] : args, { encoding: "utf8", env: cliEnvironment(host, {}, env), timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] }).trim();
            } catch (err) {
                throw new RecoveryError(unreachableMessage(stack, host, String((err as { stderr?: string }).stderr ?? (err as Error).message)));
            }
        };
        // A watch (canary) the killed run left: every request back to the replicas before its containers go.
        const canaries = docker("ps", "--all", "--quiet", "--filter", `label=${LABEL.stack}=${stack}`, "--filter", `label=${LABEL.role}=canary`);
        if (canaries) {
            const [proxy] = docker("ps", "--filter", `label=${LABEL.stack}=${stack}`, "--filter", `label=${LABEL.role}=proxy`, "--format", "{{.Names}}").split("\n").filter(Boolean);
            await endWatch(host, stack, proxy, PROXY_DRAIN_SECONDS);
            say(`stack ${stack}: ${where(host)}: the release an interrupted run was watching is gone; the proxy sends every request to the replicas again`);
        }
        const labelled = docker("ps", "--all", "--filter", `label=${LABEL.stack}=${stack}`, "--format", "{{.Names}}").split("\n").filter(Boolean);
        const stray = orphans(labelled, names);
        if (stray.length > 0) {
            docker("rm", "--force", ...stray);
            say(`stack ${stack}: removed ${stray.length} container(s) an interrupted run left outside its state: ${stray.join(", ")}`);
        }
    }
    const pending = deployment.pending_operations ?? [];
    if (pending.length > 0) {
        importState({ ...exported, deployment: { ...deployment, pending_operations: [] } }, pulumi);
        say(`stack ${stack}: dropped ${pending.length} pending operation(s) of an interrupted run (${pending.map((p) => `${p.type} ${p.resource.type.split(":").pop()}`).join(", ")})`);
    }
}

// Run as a script (node tools/register-typescript.js scripts/recover.ts <stack>), not when imported.
if (process.argv[1] === __filename) {
    const [stack] = process.argv.slice(2);
    if (!stack) {
        process.stderr.write("usage: recover.ts <stack>\n");
        process.exit(2);
    }
    recoverStack(stack, { cwd: path.resolve(__dirname, "..") }).catch((err) => {
        if (!(err instanceof RecoveryError)) throw err;
        process.stderr.write(`${err.message}\n`);
        process.exit(1);
    });
}
