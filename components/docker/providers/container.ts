import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost, inspect, labelFlags } from "../cli";
import { changedKeys, envHash, ignoreMissing, withEnvFile } from "../resource";
import { RegistryLogin, withRegistryLogin } from "./image";

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
    source: string;
    target: string;
    readOnly: boolean;
}

export interface Healthcheck {
    /** Run by the container's shell (`CMD-SHELL`); exit 0 means healthy. */
    command: string;
    intervalSeconds: number;
    timeoutSeconds: number;
    retries: number;
    startPeriodSeconds: number;
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
    /** Absent: the image's own HEALTHCHECK, if any. */
    healthcheck?: Healthcheck;
    stopTimeoutSeconds: number;
    logDriver: string;
    logOptions: Record<string, string>;
    /** How long `create` waits for the container to report healthy; 0 means it does not wait. */
    healthyTimeoutSeconds: number;
    /** Fail `create` when the container ends up with no healthcheck at all (none given, none in its image). */
    requireHealthcheck?: boolean;
    /** Login for pulling `image` when the engine lacks it; never recorded. */
    registry?: RegistryLogin;
}

/** Changes `docker update` applies to a running container; everything else needs a new container. */
const inPlaceKeys = ["restart", "memoryBytes", "cpus"] as const;
const replaceKeys = [
    "host", "namePrefix", "image", "command", "envHash", "labels", "networks", "ports", "volumes",
    "healthcheck", "stopTimeoutSeconds", "logDriver", "logOptions",
] as const;

type RecordedState = Omit<DockerContainerInputs, "env" | "registry"> & { envHash: string; name: string; containerId: string };

/** What state keeps of the inputs: no environment values (only their hash), no registry login. */
function recordedState(inputs: DockerContainerInputs, name: string, containerId: string): RecordedState {
    const { env, registry, ...rest } = inputs;
    return { ...rest, envHash: envHash(env), name, containerId };
}

/** The `docker create` arguments for a container (without the env-file, which create() adds). */
export function createArgs(name: string, inputs: DockerContainerInputs): string[] {
    const [firstNetwork] = inputs.networks;
    const hc = inputs.healthcheck;
    return [
        "create",
        "--name", name,
        ...labelFlags(inputs.labels),
        "--restart", inputs.restart,
        ...(inputs.memoryBytes > 0 ? ["--memory", String(inputs.memoryBytes), "--memory-swap", String(inputs.memoryBytes)] : []),
        ...(inputs.cpus > 0 ? ["--cpus", String(inputs.cpus)] : []),
        "--stop-timeout", String(inputs.stopTimeoutSeconds),
        ...(inputs.logDriver ? ["--log-driver", inputs.logDriver] : []),
        ...Object.keys(inputs.logOptions).sort().flatMap((k) => ["--log-opt", `${k}=${inputs.logOptions[k]}`]),
        ...(firstNetwork ? ["--network", firstNetwork.name, ...firstNetwork.aliases.flatMap((a) => ["--network-alias", a])] : []),
        ...inputs.ports.flatMap((p) => ["--publish", `${p.ip ? `${p.ip}:` : ""}${p.external}:${p.internal}/${p.protocol}`]),
        ...inputs.volumes.map((v) => `--mount=type=volume,source=${v.source},target=${v.target}${v.readOnly ? ",readonly" : ""}`),
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

/**
 * The `docker exec` arguments that run a container's healthcheck (`Config.Healthcheck.Test`) once, or undefined
 * when it has none. berth probes with it itself because the engine runs the first check only after a full
 * interval (and engines before API 1.44 have no faster start interval): polling the same command is the same
 * verdict, seconds earlier.
 */
export function healthProbeArgs(name: string, test: string[] | undefined): string[] | undefined {
    const [kind, ...rest] = test ?? [];
    if (kind === "CMD" && rest.length > 0) return ["exec", name, ...rest];
    if (kind === "CMD-SHELL" && rest.length > 0) return ["exec", name, "/bin/sh", "-c", rest.join(" ")];
    return undefined; // no test, or NONE
}

const PROBE_PAUSE_MS = 250;

/** True once the container's own healthcheck passes, run by berth or by the engine. */
async function probeHealthy(host: DockerHost, container: any): Promise<boolean> {
    if (container.State?.Health?.Status === "healthy") return true;
    const probe = healthProbeArgs(container.Name.replace(/^\//, ""), container.Config?.Healthcheck?.Test);
    if (!probe) return false;
    const timeoutNs: number = container.Config.Healthcheck.Timeout || 30e9;
    return docker(host, probe, { timeoutMs: timeoutNs / 1e6 }).then(() => true, () => false);
}

async function waitUntilHealthy(host: DockerHost, name: string, timeoutSeconds: number, requireHealthcheck: boolean): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
        const container = await inspect(host, "container", name);
        const state = container?.State;
        const health: string | undefined = state?.Health?.Status;
        if (state && !state.Running && !state.Restarting) {
            throw new Error(`container ${name} exited with code ${state.ExitCode} before becoming healthy`);
        }
        if (state?.Running && health === undefined) {
            if (requireHealthcheck) {
                throw new Error(`container ${name} has no healthcheck: its image declares no HEALTHCHECK and none was configured (set berth:healthcheck)`);
            }
            return; // no healthcheck at all: running is the best signal there is
        }
        if (health === "unhealthy") {
            throw new Error(`container ${name} reported unhealthy`);
        }
        if (state?.Running && (await probeHealthy(host, container))) {
            return;
        }
        if (Date.now() > deadline) {
            throw new Error(`container ${name} was not healthy within ${timeoutSeconds}s (status: ${health})`);
        }
        await new Promise((resolve) => setTimeout(resolve, PROBE_PAUSE_MS));
    }
}

async function createContainer(inputs: DockerContainerInputs): Promise<RecordedState> {
    const name = `${inputs.namePrefix}-${crypto.randomBytes(3).toString("hex")}`;
    if (!(await inspect(inputs.host, "image", inputs.image))) {
        await withRegistryLogin(inputs.host, inputs.registry, (loggedIn) => loggedIn(["pull", "--quiet", inputs.image]));
    }
    await withEnvFile(inputs.env, (envFile) => {
        const [create, ...rest] = createArgs(name, inputs);
        return docker(inputs.host, [create, "--env-file", envFile, ...rest]);
    });
    try {
        for (const extra of inputs.networks.slice(1)) {
            await docker(inputs.host, ["network", "connect", ...extra.aliases.flatMap((a) => ["--alias", a]), extra.name, name]);
        }
        await docker(inputs.host, ["start", name]);
        if (inputs.healthyTimeoutSeconds > 0) {
            await waitUntilHealthy(inputs.host, name, inputs.healthyTimeoutSeconds, inputs.requireHealthcheck ?? false);
        }
    } catch (err) {
        // A container that never became healthy is removed, so the failed deploy leaves the old one serving alone.
        const logs = await docker(inputs.host, ["logs", "--tail", "20", name]).catch(() => "");
        await docker(inputs.host, ["rm", "--force", name]).catch(ignoreMissing);
        throw new Error(`${(err as Error).message}${logs ? `\nlast log lines:\n${logs}` : ""}`);
    }
    return recordedState(inputs, name, (await inspect(inputs.host, "container", name))?.Id ?? "");
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: DockerContainerInputs) {
        const state = await createContainer(inputs);
        return { id: state.name, outs: state };
    },
    async diff(_id: string, olds: RecordedState, news: DockerContainerInputs) {
        const desired = { ...news, envHash: envHash(news.env) };
        const replaces = changedKeys<RecordedState>(olds, desired, replaceKeys);
        const updates = changedKeys<RecordedState>(olds, desired, inPlaceKeys);
        return { changes: replaces.length + updates.length > 0, replaces };
    },
    async update(id: string, olds: RecordedState, news: DockerContainerInputs) {
        await docker(news.host, [
            "update",
            "--restart", news.restart,
            ...(news.memoryBytes > 0 ? ["--memory", String(news.memoryBytes), "--memory-swap", String(news.memoryBytes)] : []),
            ...(news.cpus > 0 ? ["--cpus", String(news.cpus)] : []),
            id,
        ]);
        return { outs: recordedState(news, olds.name, olds.containerId) };
    },
    async read(id: string, props: RecordedState) {
        const found = await inspect(props.host, "container", id);
        return found ? { id, props } : { id: "", props: {} };
    },
    async delete(id: string, props: RecordedState) {
        // `stop` sends SIGTERM and waits stopTimeoutSeconds, so in-flight requests drain before removal.
        await docker(props.host, ["stop", "--time", String(props.stopTimeoutSeconds), id]).catch(ignoreMissing);
        await docker(props.host, ["rm", id]).catch(ignoreMissing);
    },
};
