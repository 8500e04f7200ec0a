// What berth's containers are (DockerContainerInputs) and the `docker create` argv for one: pure, compared whole in tests.
import { DockerHost, labelFlags, mapFlags, mountSpec } from "../cli";
import type { HealthcheckSettings } from "../../config/types";
import type { RegistryLogin } from "../providers/image";

export interface PortMapping {
    internal: number;
    external: number;
    ip: string;
    protocol: "tcp" | "udp";
}

export interface NetworkAttachment {
    name: string;
    aliases: string[];
}

export interface VolumeMount {
    /** A volume's name, or with `bind` a path on the host. */
    source: string;
    target: string;
    readOnly: boolean;
    /** A path of the host rather than a volume: berth binds only the engine's own socket (the backup scheduler). */
    bind?: boolean;
    /** Another container's data volume, mounted beside it (the backup scheduler's copy of a custom service's data). */
    shared?: boolean;
}

export interface DockerContainerInputs {
    host: DockerHost;
    /** The container is named `<namePrefix>-<random>`, so a replacement can start before its predecessor stops. */
    namePrefix: string;
    image: string;
    command: string[];
    /** May hold secrets: passed through a private env-file, and only its hash is kept in state. */
    env: Record<string, string>;
    labels: Record<string, string>;
    networks: NetworkAttachment[];
    ports: PortMapping[];
    volumes: VolumeMount[];
    restart: string;
    /** 0 means unlimited. */
    memoryBytes: number;
    /** 0 means unlimited. */
    cpus: number;
    /** Absent: the image's own HEALTHCHECK, if any (unless noHealthcheck). */
    healthcheck?: HealthcheckSettings;
    /** Docker's init (tini) as PID 1, which passes signals on and reaps; absent: the command is PID 1. */
    init?: boolean;
    /** Ignore the image's HEALTHCHECK (it is another process's, e.g. web's for a worker). */
    noHealthcheck?: boolean;
    /** Without any healthcheck: `create` counts the container healthy once it has stayed up this long (no exit, no restart). */
    upSeconds?: number;
    stopTimeoutSeconds: number;
    logDriver: string;
    logOptions: Record<string, string>;
    /**
     * Rotation of its log files where its log driver (or, with none given, the engine's default) keeps files
     * (json-file, local): a chatty container cannot fill the disk. Options given in logOptions win.
     */
    logRotation?: { maxSize: string; maxFiles: number };
    /** How long `create` waits for the container to report healthy; 0 means it does not wait. */
    healthTimeoutSeconds: number;
    /**
     * The TCP port its process serves on, where it has one (a web replica): until that port accepts connections the
     * container cannot be healthy, so the (costlier) healthcheck waits for it. Not part of the container's settings.
     */
    listenPort?: number;
    /** Fail `create` when the container ends up with no healthcheck at all (none given, none in its image). */
    requireHealthcheck?: boolean;
    /** Login for pulling `image` when the engine lacks it; never recorded. */
    registry?: RegistryLogin;
}

/**
 * What berth's own long-running helpers (the front door, the backup scheduler) are made with: restarted always,
 * a memory limit, their image's healthcheck required and waited for, the engine's log driver.
 */
export const BERTH_DAEMON = {
    command: [] as string[],
    ports: [] as PortMapping[],
    restart: "always",
    memoryBytes: 256 * 1024 ** 2,
    cpus: 0,
    stopTimeoutSeconds: 30,
    logDriver: "",
    logOptions: {} as Record<string, string>,
    healthTimeoutSeconds: 60,
    requireHealthcheck: true,
};

/** Log drivers that keep files on the host, which grow until rotated. */
export const FILE_LOG_DRIVERS = ["json-file", "local"];

/** The log options a container is created with: its own, over rotation where its driver keeps files. */
export function effectiveLogOptions(inputs: Pick<DockerContainerInputs, "logDriver" | "logOptions" | "logRotation">, engineDefaultDriver: string): Record<string, string> {
    const driver = inputs.logDriver || engineDefaultDriver;
    const rotation: Record<string, string> = inputs.logRotation && FILE_LOG_DRIVERS.includes(driver)
        ? { "max-size": inputs.logRotation.maxSize, "max-file": String(inputs.logRotation.maxFiles) }
        : {};
    return { ...rotation, ...inputs.logOptions };
}

/** Memory (swap not added on top) and CPU limits, for `docker create` and `docker update` alike; 0: none. */
export function limitFlags(inputs: Pick<DockerContainerInputs, "memoryBytes" | "cpus">): string[] {
    return [
        ...(inputs.memoryBytes > 0 ? ["--memory", String(inputs.memoryBytes), "--memory-swap", String(inputs.memoryBytes)] : []),
        ...(inputs.cpus > 0 ? ["--cpus", String(inputs.cpus)] : []),
    ];
}

/** The `docker create` arguments for a container (without the env-file, which create() adds). */
export function createArgs(name: string, inputs: DockerContainerInputs, engineDefaultDriver = "json-file"): string[] {
    const [firstNetwork] = inputs.networks;
    const hc = inputs.healthcheck;
    return [
        "create",
        "--name", name,
        ...labelFlags(inputs.labels),
        "--restart", inputs.restart,
        ...limitFlags(inputs),
        "--stop-timeout", String(inputs.stopTimeoutSeconds),
        ...(inputs.logDriver ? ["--log-driver", inputs.logDriver] : []),
        ...mapFlags("--log-opt", effectiveLogOptions(inputs, engineDefaultDriver)),
        ...(firstNetwork ? ["--network", firstNetwork.name, ...firstNetwork.aliases.flatMap((a) => ["--network-alias", a])] : []),
        ...inputs.ports.flatMap((p) => ["--publish", `${p.ip ? `${p.ip}:` : ""}${p.external}:${p.internal}/${p.protocol}`]),
        ...inputs.volumes.map((v) => `--mount=${mountSpec(v)}`),
        ...(inputs.init ? ["--init"] : []),
        ...(inputs.noHealthcheck && !hc ? ["--no-healthcheck"] : []),
        ...(hc
            ? [
                "--health-cmd", hc.command,
                "--health-interval", `${hc.intervalSeconds}s`,
                "--health-timeout", `${hc.timeoutSeconds}s`,
                "--health-retries", String(hc.retries),
                "--health-start-period", `${hc.startPeriodSeconds}s`,
            ]
            : []),
        inputs.image,
        ...inputs.command,
    ];
}

/** The `docker update` arguments that set a running container's restart policy and limits to the declared ones. */
export function updateArgs(name: string, inputs: Pick<DockerContainerInputs, "restart" | "memoryBytes" | "cpus">): string[] {
    return ["update", "--restart", inputs.restart, ...limitFlags(inputs), name];
}
