/**
 * `npm run backups -- now|list|status|restore --stack S [--service NAME] [--snapshot ID] [--yes]`: the stack's
 * backups, through its scheduler on each host that runs services with data (images/backup/berth-backup): a backup
 * now (exits 1 if one failed), the snapshots in the repository, each service's last result, or a service's data put
 * back from a snapshot (the latest by default) with the app's containers paused meanwhile.
 */
import { spawnSync } from "child_process";
import { setTimeout as sleep } from "timers/promises";
import { BACKUP_STATE, restoreLoaderLabels } from "../components/backupScheduler";
import { cliEnvironment, labelFlags } from "../components/docker/cli";
import { dockerName, LABEL } from "../components/naming";
import { dockerOn, parseOptions, roleFilters, runMain, stackHosts, UsageError } from "./replicas";

const USAGE = "usage: npm run backups -- now|list|status|restore --stack <stack> [--service <name>] [--snapshot <id>] [--yes]";

export interface ServiceStatus {
    service: string;
    kind?: string;
    lastSuccess?: string;
    lastAttempt?: string;
    snapshot?: string;
    bytes?: number;
    added?: number;
    seconds?: number;
    /** A custom service: how long it was paused for the copy. */
    pausedSeconds?: number;
    error?: string;
}

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** One line per service: its last success (size, duration, snapshot) and its last error, if any. */
export function statusLine(host: string, s: ServiceStatus): string {
    const paused = s.pausedSeconds === undefined ? "" : `, paused ${s.pausedSeconds} s`;
    const success = s.lastSuccess ? `last success ${s.lastSuccess} (${mib(s.bytes ?? 0)}, ${mib(s.added ?? 0)} new, ${s.seconds ?? 0} s${paused}, snapshot ${s.snapshot?.slice(0, 8)})` : "never backed up";
    return `${host || "local"} ${s.service}: ${success}${s.error ? `; last attempt ${s.lastAttempt ?? "?"} failed: ${s.error}` : ""}`;
}

interface Scheduler {
    host: string;
    name: string;
}

/** `berth-backup ARGS` in a scheduler. */
function inScheduler({ host, name }: Scheduler, ...args: string[]) {
    return spawnSync("docker", [...(host ? ["--host", host] : []), "exec", name, "berth-backup", ...args], { encoding: "utf8", env: cliEnvironment(host), timeout: 6 * 3600_000 });
}

/**
 * A Redis snapshot's restore: its RDB staged on the scheduler's volume, served by a throwaway server of the service's
 * own image (so its RDB version is one it reads) on the stack network, which the running server replicates; the
 * loader is removed whatever happens.
 */
function restoreRedis(stack: string, scheduler: Scheduler, service: string, snapshot: string) {
    const staged = inScheduler(scheduler, "stage", service, snapshot);
    if (staged.status !== 0) return staged;
    const { host } = scheduler;
    const inspected = JSON.parse(dockerOn(host, "inspect", scheduler.name))[0];
    const stateVolume = inspected.Mounts.find((m: { Destination: string }) => m.Destination === BACKUP_STATE).Name as string;
    const network = Object.keys(inspected.NetworkSettings.Networks)[0];
    const running = dockerOn(host, "ps", "--filter", `label=${LABEL.stack}=${stack}`, "--filter", `label=${LABEL.service}=${service}`, "--format", "{{.Names}}");
    const image = dockerOn(host, "inspect", "--format", "{{.Config.Image}}", running);
    const loader = dockerName(stack, "backup-restore");
    // (One a killed restore left behind goes first; none is no error.)
    const removeLoader = () => spawnSync("docker", [...(host ? ["--host", host] : []), "rm", "--force", "--volumes", loader], { env: cliEnvironment(host), encoding: "utf8" });
    removeLoader();
    try {
        dockerOn(host, "run", "--detach", "--name", loader, "--network", network, ...labelFlags(restoreLoaderLabels(stack)),
            "--mount", `type=volume,source=${stateVolume},target=/restore,readonly`, image,
            "redis-server", "--port", "6379", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", `/restore/${staged.stdout.trim()}`,
            "--dbfilename", "dump.rdb", "--appendonly", "no", "--save", "");
        return inScheduler(scheduler, "restore", service, snapshot, loader);
    } finally {
        removeLoader();
    }
}

/**
 * Puts `service`'s data back from `snapshot` (its latest good one by default). Without `yes` it only says what would
 * be overwritten. The app's containers (web and roles, every host) are paused for the restore and resumed.
 */
async function restore(stack: string, schedulers: Scheduler[], service: string, snapshotId: string | undefined, yes: boolean): Promise<number> {
    const statusOf = (s: Scheduler) => inScheduler(s, "status").stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line) as ServiceStatus).find((status) => status.service === service);
    const found = schedulers.map((s) => ({ scheduler: s, status: statusOf(s) })).find(({ status }) => status);
    if (!found) throw new UsageError(`stack ${stack} backs up no service ${service}`);
    const { scheduler, status: { kind } = {} } = found;
    const listed = inScheduler(scheduler, "list", service);
    if (listed.status !== 0) throw new UsageError(`the snapshots of ${service} cannot be listed: ${listed.stderr.trim()}`);
    const snapshots = listed.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line) as { id: string; time: string });
    const snapshot = snapshotId ? snapshots.find((s) => s.id.startsWith(snapshotId)) : snapshots[snapshots.length - 1];
    if (!snapshot) throw new UsageError(snapshotId ? `no good snapshot ${snapshotId} of ${service} (npm run backups -- list --stack ${stack} --service ${service})` : `no snapshot of ${service} yet`);
    const hosts = stackHosts(stack);
    const app = hosts.flatMap((host) => [...new Set([...dockerOn(host, "ps", ...roleFilters(stack, "web"), "--format", "{{.Names}}").split("\n"),
        ...dockerOn(host, "ps", "--filter", `label=${LABEL.stack}=${stack}`, "--filter", `label=${LABEL.role}=worker`, "--format", "{{.Names}}").split("\n")])]
        .filter(Boolean).map((name) => ({ host, name })));
    if (!yes) {
        console.error(`berth: this overwrites ${service}'s data on ${scheduler.host || "the local engine"} with snapshot ${snapshot.id} of ${snapshot.time}: `
            + `whatever was written since is lost. The app's ${app.length} containers are paused meanwhile. Run again with --yes to do it.`);
        return 2;
    }
    // Paused, not stopped: a paused container keeps its address, so the proxy's routes stay right, and requests that
    // arrive meanwhile wait instead of failing at once.
    const stopped = Date.now();
    for (const { host, name } of app) dockerOn(host, "pause", name);
    let rc = 0;
    try {
        const run = kind === "redis" ? restoreRedis(stack, scheduler, service, snapshot.id) : inScheduler(scheduler, "restore", service, snapshot.id);
        process.stdout.write(run.stdout);
        process.stderr.write(run.stderr);
        rc = run.status === 0 ? 0 : 1;
    } finally {
        // Resumed whatever happened: a failed restore (one transaction) left the data as it was.
        for (const { host, name } of app) dockerOn(host, "unpause", name);
        // Their healthchecks timed out while paused: the restore is done once they pass again.
        for (const { host, name } of app) {
            for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(500)) {
                if (["healthy", ""].includes(dockerOn(host, "inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", name))) break;
            }
        }
    }
    console.log(`berth: ${service} ${rc === 0 ? "restored from" : "NOT restored from"} snapshot ${snapshot.id} (${snapshot.time}); the app was paused for ${((Date.now() - stopped) / 1000).toFixed(1)} s and answers again`);
    return rc;
}

async function main(): Promise<number> {
    const [command, ...argv] = process.argv.slice(2);
    if (!["now", "list", "status", "restore"].includes(command ?? "")) throw new UsageError(USAGE);
    const { options } = parseOptions(argv, { values: ["stack", "service", "snapshot"], flags: ["yes"] });
    if (!options.stack) throw new UsageError(USAGE);
    const schedulers = stackHosts(options.stack).flatMap((host) =>
        dockerOn(host, "ps", "--filter", `label=${LABEL.stack}=${options.stack}`, "--filter", `label=${LABEL.role}=backup`, "--format", "{{.Names}}")
            .split("\n").filter(Boolean).map((name) => ({ host, name })));
    if (schedulers.length === 0) throw new UsageError(`stack ${options.stack} runs no backup scheduler: set berth:backups and run up`);
    if (command === "restore") {
        if (!options.service) throw new UsageError(`restore needs --service\n${USAGE}`);
        return restore(options.stack, schedulers, options.service, options.snapshot, options.yes === true);
    }
    let rc = 0;
    for (const { host, name } of schedulers) {
        const args = command === "now" ? ["now", ...(options.service ? [options.service] : [])] : command === "list" ? ["list", ...(options.service ? [options.service] : [])] : ["status"];
        const run = inScheduler({ host, name }, ...args);
        if (command === "status") {
            for (const line of run.stdout.split("\n").filter(Boolean)) {
                const status = JSON.parse(line) as ServiceStatus;
                if (!options.service || status.service === options.service) console.log(statusLine(host, status));
            }
        } else {
            process.stdout.write(run.stdout);
        }
        process.stderr.write(run.stderr);
        if (run.status !== 0) rc = 1;
    }
    return rc;
}

// Run as `node tools/register-typescript.js scripts/<this>.ts …` (npm run …); imported by tests for its pure parts.
if (process.argv[1] === __filename) runMain(main);
