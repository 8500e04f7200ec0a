import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as net from "net";
import { BackupSchedule, engineAddress, isRemoteEngine } from "./config";
import { INGRESS_PORTS } from "./ingress";
import { docker, DockerError, DockerHost, engineApi, engineInfo } from "./docker/cli";
import type { RegistryLogin } from "./docker/providers/image";
import { INGRESS_NAME, readIngress } from "./docker/providers/ingress";
import { claimedMessage } from "./docker/providers/ingressRoute";
import { claimedBy, IngressSite } from "./ingressConfig";
import { LABEL, stackPrefix } from "./naming";

/** What berth checks of an engine it deploys to (from `docker info`, and the data root's free space where known). */
export interface EngineFacts {
    liveRestore: boolean;
    /** Part of a swarm: live-restore does not apply there (Swarm reschedules instead). */
    swarm: boolean;
    storageDriver: string;
    dataRoot: string;
    /** Free bytes on the data root's filesystem; known for engines on this machine. */
    freeBytes?: number;
}

/** Below this, a build or a pull of a release may fail for lack of space. */
export const MIN_FREE_BYTES = 2 * 1024 ** 3;
const RECOMMENDED_DRIVERS = ["overlay2", "overlayfs", "btrfs", "zfs"];

export function engineFacts(info: any, freeBytes?: number): EngineFacts {
    return {
        liveRestore: info.LiveRestoreEnabled === true,
        swarm: info.Swarm?.LocalNodeState === "active",
        storageDriver: String(info.Driver ?? ""),
        dataRoot: String(info.DockerRootDir ?? ""),
        ...(freeBytes !== undefined ? { freeBytes } : {}),
    };
}

/** What is wrong with an engine for running a stack, each with the fix; nothing when all is well. */
export function engineWarnings(host: DockerHost, facts: EngineFacts): string[] {
    const where = host || "the local Docker engine";
    const warnings: string[] = [];
    if (!facts.liveRestore && !facts.swarm) {
        warnings.push(`${where} runs without live-restore: a restart or upgrade of its dockerd stops every container, and the app is down until they are back. `
            + `Set "live-restore": true in /etc/docker/daemon.json and reload dockerd (systemctl reload docker, or kill -HUP its pid): no container stops.`);
    }
    if (facts.storageDriver && !RECOMMENDED_DRIVERS.includes(facts.storageDriver)) {
        warnings.push(`${where} stores images with the ${facts.storageDriver} driver, slow and space-hungry for image layers: use overlay2 ("storage-driver": "overlay2" in /etc/docker/daemon.json; images are pulled again after the change).`);
    }
    if (facts.freeBytes !== undefined && facts.freeBytes < MIN_FREE_BYTES) {
        warnings.push(`${where} has ${(facts.freeBytes / 1024 ** 3).toFixed(1)} GiB free on its data root ${facts.dataRoot}: a build or pull of the next release may fail for lack of space. `
            + `Free space (docker system prune -a removes unused images; berth keeps only berth:keepReleases) or grow the disk.`);
    }
    return warnings;
}

/** Free bytes of the filesystem holding `dir`, when it is on this machine and readable. */
function freeBytesOf(dir: string): number | undefined {
    try {
        const stats = fs.statfsSync(dir);
        return stats.bavail * stats.bsize;
    } catch {
        return undefined;
    }
}

/**
 * The other stacks whose Docker names would be this stack's (`team_a` and `team-a` both name their objects
 * `berth-team-a-…`), from the `berth.stack` labels of the objects on an engine: sharing a network or a data volume
 * with another stack, or destroying its data, must never happen.
 */
export function collidingStacks(stack: string, labelled: string[]): string[] {
    return [...new Set(labelled)].filter((other) => other !== stack && stackPrefix(other) === stackPrefix(stack)).sort();
}

/** The `berth.stack` labels of the containers, volumes and networks on an engine (through its API socket). */
async function stackLabels(host: DockerHost): Promise<string[]> {
    const filters = encodeURIComponent(JSON.stringify({ label: [LABEL.stack] }));
    const [containers, volumes, networks] = await Promise.all([
        engineApi(host, "GET", `/containers/json?all=1&filters=${filters}`, undefined, 30_000),
        engineApi(host, "GET", `/volumes?filters=${filters}`, undefined, 30_000),
        engineApi(host, "GET", `/networks?filters=${filters}`, undefined, 30_000),
    ]);
    return [...containers, ...(volumes.Volumes ?? []), ...networks].map((object: any) => String(object.Labels?.[LABEL.stack] ?? ""));
}

/**
 * Fails the run (an error diagnostic: preview and `up` end failed, before any change) when another stack's objects
 * on one of the hosts carry this stack's Docker names, naming that stack. Checked while the program runs.
 */
export async function refuseNameCollisions(stack: string, hosts: DockerHost[], resource: pulumi.Resource): Promise<string[]> {
    const found = await Promise.all(hosts.map(async (host) => {
        // An engine berth cannot ask through a socket (tcp://) or that does not answer is left to the host checks.
        const others = collidingStacks(stack, await stackLabels(host).catch(() => []));
        return others.map((other) => `stack ${stack} would name its Docker objects ${stackPrefix(stack)}-…, as stack ${other} already does on ${host || "the local engine"}: `
            + `two stacks must never share a network or a data volume. Use another stack name (names differing only in case, _ or . are the same to Docker).`);
    }));
    const errors = found.flat();
    for (const error of errors) pulumi.log.error(error, resource);
    return errors;
}

/**
 * Checks each engine while the program runs (no time added to a run) and warns, at preview and `up`, about what
 * would hurt the app later: no live-restore, a poor storage driver, a nearly full disk. An engine that does not
 * answer is left to the host checks, which fail the run naming it.
 */
export async function warnAboutEngines(hosts: DockerHost[], resource: pulumi.Resource, forSwarm = false): Promise<string[]> {
    const all = await Promise.all(hosts.map(async (host) => {
        try {
            const info = await engineInfo(host, 30_000);
            const facts = engineFacts(info, isRemoteEngine(host) ? undefined : freeBytesOf(info.DockerRootDir));
            // A host about to join a swarm cannot have live-restore: not a thing to warn about.
            return engineWarnings(host, { ...facts, swarm: facts.swarm || forSwarm });
        } catch {
            return [];
        }
    }));
    const warnings = all.flat();
    for (const warning of warnings) pulumi.log.warn(warning, resource);
    return warnings;
}

/** A service's last result as the backup scheduler reports it (`berth-backup status`). */
export interface BackupStatus {
    service: string;
    lastSuccessEpoch?: number;
    error?: string;
}

/** How long may pass since a service's last successful backup before preview warns: twice the schedule's interval. */
export function backupStaleAfterSeconds(schedule: BackupSchedule): number {
    return 2 * ("everySeconds" in schedule ? schedule.everySeconds : 86400);
}

/**
 * Warnings for services whose last successful backup is older than twice the schedule's interval (or that never
 * had one while the scheduler has run that long), with the last error when there is one.
 */
export function staleBackups(host: DockerHost, statuses: BackupStatus[], schedule: BackupSchedule, runningSinceEpoch: number, nowEpoch = Date.now() / 1000): string[] {
    const limit = backupStaleAfterSeconds(schedule);
    return statuses.filter((s) => nowEpoch - (s.lastSuccessEpoch ?? runningSinceEpoch) > limit).map((s) => {
        const since = s.lastSuccessEpoch ? `last succeeded ${new Date(s.lastSuccessEpoch * 1000).toISOString()}` : "has never succeeded";
        return `${host || "the local engine"}: the backup of ${s.service} ${since}, longer ago than twice its interval (${limit} s)`
            + `${s.error ? `; its last attempt failed: ${s.error}` : ""}. npm run backups -- status shows each service's last result.`;
    });
}

/** Reads each host's backup scheduler status while the program runs and warns, at preview and `up`, about stale backups. */
export async function warnAboutStaleBackups(stack: string, hosts: DockerHost[], schedule: BackupSchedule, resource: pulumi.Resource): Promise<string[]> {
    const all = await Promise.all(hosts.map(async (host) => {
        try {
            const [name] = (await docker(host, ["ps", "--filter", `label=${LABEL.stack}=${stack}`, "--filter", `label=${LABEL.role}=backup`, "--format", "{{.Names}}"], { timeoutMs: 30_000 })).split("\n").filter(Boolean);
            if (!name) return [];
            const started = Date.parse(await docker(host, ["inspect", "--format", "{{.State.StartedAt}}", name], { timeoutMs: 30_000 })) / 1000;
            const statuses = (await docker(host, ["exec", name, "berth-backup", "status"], { timeoutMs: 30_000 })).split("\n").filter(Boolean).map((line) => JSON.parse(line) as BackupStatus);
            return staleBackups(host, statuses, schedule, started);
        } catch {
            // A host that does not answer is the host checks' to name.
            return [];
        }
    }));
    const warnings = all.flat();
    for (const warning of warnings) pulumi.log.warn(warning, resource);
    return warnings;
}

/** An image a service runs, the engine that runs it, and the login its registry wants (berth's registry only). */
export interface ServiceImage {
    service: string;
    host: DockerHost;
    image: string;
    login?: RegistryLogin;
}

/** The Engine API's X-Registry-Auth header for a login: its JSON, base64url-encoded. */
export function registryAuth(login: RegistryLogin): Record<string, string> {
    const json = JSON.stringify({ username: login.username, password: login.password, serveraddress: login.server });
    return { "X-Registry-Auth": Buffer.from(json).toString("base64url") };
}

/**
 * Why a service's image cannot be had where it runs, or undefined when it can: already on the engine, or found in its
 * registry by that engine (what `up` pulls before it touches the running service). An engine that does not answer
 * is left to the host checks.
 */
async function missingImage({ host, image, login }: ServiceImage): Promise<string | undefined> {
    try {
        await engineApi(host, "GET", `/images/${encodeURIComponent(image)}/json`, undefined, 30_000);
        return undefined;
    } catch (err) {
        if (!(err instanceof DockerError && err.exitCode === 404)) return undefined;
    }
    try {
        await engineApi(host, "GET", `/distribution/${image}/json`, undefined, 30_000, "json", login?.password ? registryAuth(login) : {});
        return undefined;
    } catch (err) {
        return err instanceof DockerError ? err.stderr.trim() : undefined;
    }
}

/**
 * Warns, at preview and `up`, about each service image its engine neither has nor finds in its registry (a typo, a
 * tag nobody pushed): `up` would then stop before touching the running service, and the change is better fixed now.
 */
export async function warnAboutMissingImages(images: ServiceImage[], resource: pulumi.Resource): Promise<string[]> {
    const found = await Promise.all(images.map(async (wanted) => {
        const reason = await missingImage(wanted);
        const where = wanted.host || "the local engine";
        return reason === undefined ? [] : [`services.${wanted.service}: ${wanted.image} is not on ${where}, and its engine cannot find it in the registry (${reason}). `
            + `\`up\` would stop before the running ${wanted.service} is touched: check the image's name and tag, and that it was pushed.`];
    }));
    const warnings = found.flat();
    for (const warning of warnings) pulumi.log.warn(warning, resource);
    return warnings;
}

/** Linux's switch for handing a closing SO_REUSEPORT listener's pending connections to the others (5.14+). */
const MIGRATE_REQUESTS = "/proc/sys/net/ipv4/tcp_migrate_req";

/** Whether something accepts TCP connections on `address:port` (within two seconds). */
function listening(address: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: address, port, timeout: 2000 }, () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false)).once("timeout", () => {
            socket.destroy();
            resolve(false);
        });
    });
}

/**
 * The front door's checks while the program runs, on each host: one of the stack's names already another stack's
 * there fails the run (an error diagnostic, at preview and before any change at `up`), naming that stack; a host
 * without berth's ingress whose port 80 or 443 something else answers on is warned about (the ingress could not
 * start there).
 */
export async function checkFrontDoor(stack: string, hosts: DockerHost[], site: Pick<IngressSite, "domains" | "pathPrefix">, resource: pulumi.Resource): Promise<string[]> {
    const found = await Promise.all(hosts.map(async (host) => {
        const running = await readIngress(host).catch(() => undefined);
        if (running) {
            const migrates = await docker(host, ["exec", INGRESS_NAME, "cat", MIGRATE_REQUESTS]).then((v) => v.trim(), () => "");
            if (migrates === "0") {
                pulumi.log.warn(`${host || "the local engine"}: ${MIGRATE_REQUESTS} is 0: when the front door is upgraded, a connection the old ingress has not accepted yet is reset `
                    + `instead of handed to the new one. Set it on that host: sysctl -w net.ipv4.tcp_migrate_req=1 (and in /etc/sysctl.d/ to keep it).`, resource);
            }
            const claim = claimedBy(running.apps, { stack, ...site });
            return claim ? [claimedMessage(host, stack, claim)] : [];
        }
        const address = isRemoteEngine(host) ? engineAddress(host) : "127.0.0.1";
        for (const port of [INGRESS_PORTS.http, INGRESS_PORTS.https]) {
            if (await listening(address, port)) {
                pulumi.log.warn(`${host || "the local engine"}: something other than berth's ingress answers on port ${port} of ${address}: the front door cannot start there. `
                    + "Find it with ss -ltnp on that host and stop it (or move it behind berth:domains).", resource);
            }
        }
        return [];
    }));
    const errors = found.flat();
    for (const error of errors) pulumi.log.error(error, resource);
    return errors;
}
