import { execFileSync } from "child_process";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { BackupSettings, ConfigError, LogRotation, ServiceSettings } from "./config";
import { BERTH_DAEMON, VolumeMount } from "./docker/commands/container";
import { DockerContainer } from "./docker/container";
import type { RegistryLogin } from "./docker/providers/image";
import { berthLabels, dockerName, LABEL } from "./naming";
import { presetFor } from "./serviceKinds";
import { BerthImageArgs, berthImage } from "./webProxy";

const BACKUP_CONTEXT = path.join(__dirname, "..", "images", "backup");
/** Where the scheduler keeps its status and locks (a volume: a replaced scheduler knows what is due). */
export const BACKUP_STATE = "/var/lib/berth-backup";
/** The service kinds berth backs up, each its own way (images/backup/berth-backup): every kind berth runs. */
export const BACKED_UP_KINDS = ["postgres", "mysql", "redis", "rabbitmq", "custom"] as const;
/**
 * The kinds whose scheduled backups go through the host's engine (its socket mounted into the scheduler, which the
 * policy pack allows berth's scheduler alone): RabbitMQ's definitions (rabbitmqctl in its container), a custom
 * service's volume (paused for the copy, stopped for the restore). A stack without them gives it no socket.
 */
export const ENGINE_KINDS: readonly string[] = ["rabbitmq", "custom"];
/** The labels of the throwaway Redis server a restore replicates from (scripts/backups.ts starts and removes it). */
export function restoreLoaderLabels(stack: string): Record<string, string> {
    return berthLabels(stack, "backup-restore");
}
/** Where a custom service's volume is mounted in the scheduler (`<VOLUMES_DIR>/<service>`). */
const VOLUMES_DIR = "/volumes";
const ENGINE_SOCKET = "/var/run/docker.sock";

/** One service the scheduler backs up, as it reaches it on the stack network. */
export interface BackedUpService {
    name: string;
    kind: (typeof BACKED_UP_KINDS)[number];
    /** Its name on the stack network, and port. */
    address: string;
    port: number;
    user: string;
    database: string;
    password: pulumi.Input<string>;
    /** A custom service's data volume (copied as files). */
    volume?: pulumi.Input<string>;
}

export interface BackupSchedulerArgs {
    host: string;
    stack: string;
    network: pulumi.Input<string>;
    image: pulumi.Input<string>;
    pullLogin?: pulumi.Input<RegistryLogin>;
    settings: BackupSettings;
    services: BackedUpService[];
    /** The repository's password and, for sftp:, the SSH key of its login and the repository host's known_hosts lines. */
    repositoryPassword: pulumi.Input<string>;
    sshKey?: pulumi.Input<string>;
    knownHosts: string[];
    logRotation: LogRotation;
}

/** Whether berth backs up a service of this kind. */
export function isBackedUp(service: Pick<ServiceSettings, "kind">): service is ServiceSettings & { kind: BackedUpService["kind"] } {
    return (BACKED_UP_KINDS as readonly string[]).includes(service.kind);
}

/** How the scheduler reaches `service`: by the name and port it has on the stack network, with its login (and a custom service's volume). */
export function backedUp(service: ServiceSettings & { kind: BackedUpService["kind"] }, running: { alias: string; port: number; user: string; password: pulumi.Input<string>; volume: pulumi.Input<string> }): BackedUpService {
    // The database is the path of the service's URL (/app), as the app gets it.
    const database = presetFor(service).path.replace(/^\//, "");
    return { name: service.name, kind: service.kind, address: running.alias, port: running.port, user: running.user, database, password: running.password,
        ...(service.kind === "custom" ? { volume: running.volume } : {}) };
}

/** The Docker API filter (`/containers/json?filters=`) that finds `service`'s container on its host. */
export function containerFilter(stack: string, service: string): string {
    return JSON.stringify({ label: [`${LABEL.stack}=${stack}`, `${LABEL.role}=dependency`, `${LABEL.service}=${service}`] });
}

/** The scheduler's mounts: its state; with services reached through the engine, the engine's socket and custom services' volumes. */
export function schedulerMounts(stateVolume: string, services: { name: string; kind: string; volume?: string }[]): VolumeMount[] {
    const engine = services.some((s) => ENGINE_KINDS.includes(s.kind));
    return [
        { source: stateVolume, target: BACKUP_STATE, readOnly: false },
        ...(engine ? [{ source: ENGINE_SOCKET, target: ENGINE_SOCKET, readOnly: false, bind: true }] : []),
        ...services.filter((s) => s.volume).map((s) => ({ source: s.volume!, target: `${VOLUMES_DIR}/${s.name}`, readOnly: false, shared: true })),
    ];
}

/** The SQL services `dependsOn` names that `host`'s scheduler backs up: what is backed up before a release command. */
export function sqlServicesBackedUpOn(host: string, services: ServiceSettings[], dependsOn: string[], hostOf: (service: ServiceSettings) => string): string[] {
    return services.filter((s) => dependsOn.includes(s.name) && isBackedUp(s) && presetFor(s).sql && hostOf(s) === host).map((s) => s.name);
}

/** The known_hosts lines among `lines` that name `host` (plain, or `[host]:port`); hashed lines are left to ssh-keygen -F. */
export function linesNaming(host: string, lines: string[]): string[] {
    return lines.filter((line) => !line.startsWith("#") && (line.split(/\s+/)[0] ?? "").split(",").some((name) => name === host || name.startsWith(`[${host}]:`)));
}

/**
 * The SFTP repository host's keys, which the scheduler checks it against (never trusting on first use): from the
 * stack's berth:knownHosts, and from the known_hosts files this machine's ssh reads for that host.
 */
export function repositoryKnownHosts(host: string, stackLines: string[]): string[] {
    const fromStack = linesNaming(host, stackLines);
    let files: string[] = [];
    try {
        const effective = execFileSync("ssh", ["-G", host], { encoding: "utf8", timeout: 10_000 });
        files = (/^userknownhostsfile (.*)$/m.exec(effective)?.[1] ?? "").split(" ").filter(Boolean).map((f) => f.replace(/^~/, process.env.HOME ?? "~"));
    } catch {
        files = [];
    }
    const fromFiles = files.flatMap((file) => {
        try {
            return execFileSync("ssh-keygen", ["-F", host, "-f", file], { encoding: "utf8", timeout: 10_000 }).split("\n").filter((line) => line && !line.startsWith("#"));
        } catch {
            return [];
        }
    });
    const found = [...new Set([...fromStack, ...fromFiles])];
    if (found.length === 0) {
        throw new ConfigError("backups.repository", host, `its SSH host key is in neither berth:knownHosts nor this machine's known_hosts, and berth never trusts a key on first use: run ssh-keyscan -t ed25519 ${host}, compare the fingerprint with the host's operator, then add the line to berth:knownHosts`);
    }
    return found;
}

/** restic forget's flags for `keep`. */
export function keepFlags(keep: BackupSettings["keep"]): string {
    return `--keep-daily ${keep.daily} --keep-weekly ${keep.weekly} --keep-monthly ${keep.monthly}`;
}

/** The scheduler's environment (images/backup/berth-backup reads it); secrets among it reach the container through berth's env-file. */
export function backupEnvironment(args: Pick<BackupSchedulerArgs, "host" | "stack" | "settings" | "knownHosts">, services: Omit<BackedUpService, "password" | "volume">[], secrets: { repositoryPassword: string; sshKey?: string; passwords: string[] }): Record<string, string> {
    const { settings } = args;
    const engine = services.some((s) => ENGINE_KINDS.includes(s.kind));
    return {
        RESTIC_REPOSITORY: settings.repository,
        RESTIC_PASSWORD: secrets.repositoryPassword,
        ...(settings.sftp ? { BERTH_BACKUP_SSH_KEY: secrets.sshKey ?? "", BERTH_BACKUP_KNOWN_HOSTS: args.knownHosts.join("\n") } : {}),
        ...("everySeconds" in settings.schedule ? { BERTH_BACKUP_EVERY: String(settings.schedule.everySeconds) } : { BERTH_BACKUP_AT: settings.schedule.atUtc }),
        BERTH_BACKUP_KEEP: keepFlags(settings.keep),
        BERTH_STACK: args.stack,
        BERTH_HOST: args.host || "local",
        BERTH_BACKUP_SERVICES: services.map((s) => [s.name, s.kind, s.address, s.port, s.user, s.database].join(":")).join(" "),
        ...Object.fromEntries(secrets.passwords.map((password, i) => [`BERTH_BACKUP_SECRET_${i}`, password])),
        ...(engine ? {
            ...Object.fromEntries(services.flatMap((s, i) => (ENGINE_KINDS.includes(s.kind) ? [[`BERTH_BACKUP_FILTER_${i}`, containerFilter(args.stack, s.name)]] : []))),
        } : {}),
    };
}

/** berth's backup image (images/backup): restic and each kind's dump client. */
export function backupImage(name: string, args: BerthImageArgs, opts: pulumi.CustomResourceOptions) {
    return berthImage(name, BACKUP_CONTEXT, "berth/backup", args, opts);
}

/**
 * The stack's backups on one host: a container on the stack network that dumps each of the host's services with
 * data into the restic repository on schedule (and when `npm run backups -- now` asks), keeping its status on a
 * volume, restarted always so a schedule outlives an engine restart.
 */
export class BackupScheduler extends pulumi.ComponentResource {
    readonly containerName: pulumi.Output<string>;

    constructor(name: string, args: BackupSchedulerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:service:BackupScheduler", name, {}, opts);
        const env = pulumi.secret(pulumi.all([args.repositoryPassword, args.sshKey ?? "", pulumi.all(args.services.map((s) => s.password))])
            .apply(([repositoryPassword, sshKey, passwords]) => backupEnvironment(args, args.services, { repositoryPassword, sshKey, passwords })));
        const mounts = pulumi.all(args.services.map((s) => pulumi.output(s.volume ?? ""))).apply((volumes) =>
            schedulerMounts(dockerName(args.stack, "backup"), args.services.map((s, i) => ({ name: s.name, kind: s.kind, volume: volumes[i] || undefined }))));
        const container = new DockerContainer(`${name}-container`, {
            host: args.host,
            namePrefix: dockerName(args.stack, "backup"),
            ...BERTH_DAEMON,
            image: args.image,
            env,
            labels: berthLabels(args.stack, "backup"),
            networks: pulumi.output(args.network).apply((network) => [{ name: network, aliases: [] }]),
            volumes: mounts,
            logRotation: args.logRotation,
            registry: args.pullLogin,
        }, { parent: this });
        this.containerName = container.name;
        this.registerOutputs({ containerName: this.containerName });
    }
}
