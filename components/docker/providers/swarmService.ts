import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost, inspect, labelFlags, mapFlags, mountSpec } from "../cli";
import { changedKeys, ignoreMissing, volumeInUse, volumeUsers } from "../resource";
import type { HealthcheckSettings } from "../../config/types";
import type { VolumeMount } from "../commands/container";
import { pullIfMissing, RegistryLogin, withRegistryLogin } from "./image";

export interface SwarmServiceInputs {
    /** A manager of the cluster. */
    host: DockerHost;
    /** The service's name, which is also its name on its network (`tasks.<name>` lists its tasks' addresses). */
    name: string;
    image: string;
    /** Replaces the image's CMD (empty: the image's own). */
    command: string[];
    /**
     * A swarm secret holding the variables that carry credentials (`NAME='value'` lines): sourced by a shell wrapped
     * around the image's entrypoint (and before a configured healthcheck), so no credential is in the spec and the
     * app still reads them from its environment.
     */
    envSecret: string;
    /** Variables without credentials (the app's PORT and berth:env, the proxy's config): in the spec, seen by every process. */
    plainEnv: Record<string, string>;
    labels: Record<string, string>;
    network: string;
    aliases: string[];
    mode: "replicated" | "global";
    replicas: number;
    endpointMode: "dnsrr" | "vip";
    /** Published in host mode on every node running a task (no routing mesh: it needs IPVS). */
    ports: { target: number; published: number }[];
    mounts: VolumeMount[];
    /** The node (its engine) where the mounted volumes are: checked to be free before the service starts there. */
    volumeHost?: DockerHost;
    /** Placement constraints, e.g. `node.id==…` for a service whose data volume lives on one node. */
    constraints: string[];
    restart: string;
    memoryBytes: number;
    cpus: number;
    /** Absent: the image's own HEALTHCHECK, if any (unless noHealthcheck). */
    healthcheck?: HealthcheckSettings;
    noHealthcheck?: boolean;
    /** Docker's init (tini) as each task's PID 1, passing signals on; absent: the command is PID 1. */
    init?: boolean;
    /** Refuse to deploy an image with no healthcheck at all (none given, none in the image): nothing would gate its tasks. */
    requireHealthcheck?: boolean;
    stopTimeoutSeconds: number;
    /** start-first: a new task is healthy before its predecessor stops; stop-first where two must never run at once. */
    updateOrder: "start-first" | "stop-first";
    /** Tasks replaced at once (absent: 1); the next batch starts once this one runs healthy. */
    updateParallelism?: number;
    /** How long Swarm watches each updated task for failure before it counts the update as done. */
    monitorSeconds: number;
    /** How long `up` waits for the service to converge (all tasks running and healthy). */
    convergeTimeoutSeconds: number;
    logDriver: string;
    logOptions: Record<string, string>;
    /** Login the nodes pull the image with (sent with the spec, never recorded). */
    registry?: RegistryLogin;
}

/** What state records: the inputs without the login, and what the engine reports. */
export type SwarmServiceState = Omit<SwarmServiceInputs, "registry"> & { serviceId: string; runningImage: string; runningReplicas: number };

/** Where the environment secret appears inside each task: a file only its own processes see (tmpfs). */
export const ENV_SECRET_PATH = "/run/secrets/berth-env";

/** The shell that loads the environment secret, then becomes the image's own process. */
export const ENV_WRAPPER = `set -a; . ${ENV_SECRET_PATH}; set +a; exec "$@"`;

/** One shell word: what `docker service update --args` (and a POSIX shell) reads back as exactly `value`. */
export function shellWord(value: string): string {
    return `'${value.replace(/'/g, `'"'"'`)}'`;
}

/** The environment as a file a POSIX shell sources: one `NAME='value'` line each (multi-line values included). */
export function environmentFile(env: Record<string, string>): string {
    // Never empty: Swarm refuses a secret without data.
    return `# the environment berth gives this service's tasks\n${Object.keys(env).sort().map((name) => `${name}=${shellWord(env[name])}\n`).join("")}`;
}

/** Swarm's restart condition for a `docker run --restart` policy. */
export function restartFlags(restart: string): string[] {
    const [name, retries] = restart.split(":");
    const condition = name === "no" ? "none" : name === "on-failure" ? "on-failure" : "any";
    return ["--restart-condition", condition, ...(retries ? ["--restart-max-attempts", retries] : [])];
}

/** A healthcheck runs in a process of its own, beside the task's: it loads the environment secret itself. */
export function healthCommand(inputs: Pick<SwarmServiceInputs, "envSecret">, command: string): string {
    return inputs.envSecret ? `set -a; . ${ENV_SECRET_PATH}; set +a; ${command}` : command;
}

function healthFlags(inputs: Pick<SwarmServiceInputs, "healthcheck" | "noHealthcheck" | "envSecret">): string[] {
    const hc = inputs.healthcheck;
    if (!hc) return inputs.noHealthcheck ? ["--no-healthcheck"] : [];
    return [
        "--health-cmd", healthCommand(inputs, hc.command),
        "--health-interval", `${hc.intervalSeconds}s`,
        "--health-timeout", `${hc.timeoutSeconds}s`,
        "--health-retries", String(hc.retries),
        "--health-start-period", `${hc.startPeriodSeconds}s`,
    ];
}

/** Settings `docker service update` takes as they are, whatever they were: unchanged ones change nothing. */
function settingFlags(inputs: SwarmServiceInputs): string[] {
    return [
        ...(inputs.mode === "replicated" ? ["--replicas", String(inputs.replicas)] : []),
        ...restartFlags(inputs.restart),
        "--limit-memory", String(inputs.memoryBytes),
        "--limit-cpu", String(inputs.cpus),
        "--stop-grace-period", `${inputs.stopTimeoutSeconds}s`,
        ...healthFlags(inputs),
        "--update-order", inputs.updateOrder,
        "--update-parallelism", String(inputs.updateParallelism ?? 1),
        "--update-delay", "0s",
        "--update-failure-action", "rollback",
        "--update-max-failure-ratio", "0",
        "--update-monitor", `${inputs.monitorSeconds}s`,
        "--rollback-order", inputs.updateOrder,
        "--rollback-parallelism", String(inputs.updateParallelism ?? 1),
        "--rollback-monitor", `${inputs.monitorSeconds}s`,
        "--with-registry-auth",
        "--detach",
    ];
}

/** The secret reference that puts the environment at ENV_SECRET_PATH (readable by the image's own user). */
function secretFlag(secret: string): string {
    return `source=${secret},target=berth-env,mode=0444`;
}

/** The process a task runs: the image's entrypoint and command, wrapped by the environment loader when there is one. */
export function taskProcess(inputs: Pick<SwarmServiceInputs, "envSecret" | "command">, image: { entrypoint: string[]; cmd: string[] }): { entrypoint: string[]; args: string[] } {
    const own = [...image.entrypoint, ...(inputs.command.length > 0 ? inputs.command : image.cmd)];
    return inputs.envSecret ? { entrypoint: ["/bin/sh"], args: ["-c", ENV_WRAPPER, "berth-env", ...own] } : { entrypoint: [], args: inputs.command };
}

/** `docker service create` for the inputs (image config: the image's own ENTRYPOINT and CMD). */
export function serviceCreateArgs(inputs: SwarmServiceInputs, image: { entrypoint: string[]; cmd: string[] }): string[] {
    const process = taskProcess(inputs, image);
    return [
        "service", "create", "--quiet",
        "--name", inputs.name,
        ...labelFlags(inputs.labels),
        ...mapFlags("--container-label", inputs.labels),
        "--network", `name=${inputs.network}${inputs.aliases.map((a) => `,alias=${a}`).join("")}`,
        "--mode", inputs.mode,
        "--endpoint-mode", inputs.endpointMode,
        ...inputs.ports.flatMap((p) => ["--publish", `mode=host,target=${p.target},published=${p.published},protocol=tcp`]),
        ...inputs.mounts.map((m) => `--mount=${mountSpec(m)}`),
        ...inputs.constraints.flatMap((c) => ["--constraint", c]),
        ...(inputs.init ? ["--init"] : []),
        ...mapFlags("--env", inputs.plainEnv),
        ...(inputs.envSecret ? ["--secret", secretFlag(inputs.envSecret)] : []),
        ...(inputs.logDriver ? ["--log-driver", inputs.logDriver] : []),
        ...mapFlags("--log-opt", inputs.logOptions),
        ...settingFlags(inputs),
        ...(process.entrypoint.length > 0 ? ["--entrypoint", process.entrypoint.join(" ")] : []),
        inputs.image,
        ...process.args,
    ];
}

/** `docker service update` from the recorded state to the inputs: every setting restated, lists changed by add/remove. */
export function serviceUpdateArgs(olds: SwarmServiceState, news: SwarmServiceInputs, image: { entrypoint: string[]; cmd: string[] }): string[] {
    const process = taskProcess(news, image);
    const removedLabels = Object.keys(olds.labels).filter((k) => !(k in news.labels));
    const removedEnv = Object.keys(olds.plainEnv).filter((k) => !(k in news.plainEnv));
    return [
        "service", "update", "--quiet",
        "--image", news.image,
        ...mapFlags("--label-add", news.labels),
        ...removedLabels.flatMap((k) => ["--label-rm", k]),
        ...mapFlags("--container-label-add", news.labels),
        ...removedLabels.flatMap((k) => ["--container-label-rm", k]),
        ...((olds.init ?? false) !== (news.init ?? false) ? [`--init=${news.init ?? false}`] : []),
        ...mapFlags("--env-add", news.plainEnv),
        ...removedEnv.flatMap((k) => ["--env-rm", k]),
        ...(olds.envSecret !== news.envSecret
            ? [...(olds.envSecret ? ["--secret-rm", olds.envSecret] : []), ...(news.envSecret ? ["--secret-add", secretFlag(news.envSecret)] : [])]
            : []),
        ...settingFlags(news),
        "--entrypoint", process.entrypoint.join(" "),
        "--args", process.args.map(shellWord).join(" "),
        news.name,
    ];
}

/** Changes a service update cannot make: the service is removed and created again (its name is fixed). */
const replaceKeys = ["host", "name", "network", "aliases", "mode", "endpointMode", "ports", "mounts", "constraints", "logDriver", "logOptions"] as const;
const updateKeys = [
    "image", "command", "init", "envSecret", "plainEnv", "labels", "replicas", "restart", "memoryBytes", "cpus", "healthcheck",
    "noHealthcheck", "stopTimeoutSeconds", "updateOrder", "updateParallelism", "monitorSeconds",
] as const;

/** The image's own ENTRYPOINT and CMD (its healthcheck checked when one is required). */
async function imageConfig(inputs: SwarmServiceInputs): Promise<{ entrypoint: string[]; cmd: string[] }> {
    const config = await imageJson(inputs);
    const test: string[] = config.Healthcheck?.Test ?? [];
    if (inputs.requireHealthcheck && !inputs.healthcheck && (test.length === 0 || test[0] === "NONE")) {
        throw new Error(`image ${inputs.image} declares no HEALTHCHECK and none was configured (set berth:healthcheck): Swarm would send traffic to its tasks before they are ready`);
    }
    return { entrypoint: config.Entrypoint ?? [], cmd: config.Cmd ?? [] };
}

/** The image's config, from the manager's engine (pulled there first when it lacks it). */
async function imageJson(inputs: SwarmServiceInputs): Promise<any> {
    await pullIfMissing(inputs.host, inputs.image, inputs.registry);
    return JSON.parse(await docker(inputs.host, ["image", "inspect", "--format", "{{json .Config}}", inputs.image]));
}

const POLL_MS = 500;

/** A service's tasks that should run, with their current state and error. */
async function desiredTasks(host: DockerHost, name: string): Promise<{ state: string; error: string; node: string }[]> {
    const out = await docker(host, ["service", "ps", name, "--filter", "desired-state=running", "--no-trunc", "--format", "{{.CurrentState}}\t{{.Error}}\t{{.Node}}"]);
    return out.split("\n").filter(Boolean).map((line) => {
        const [state, error, node] = line.split("\t");
        return { state, error, node };
    });
}

/** Why the service's last tasks failed (newest first), for the error a failed deploy reports. */
async function taskErrors(host: DockerHost, name: string): Promise<string> {
    const out = await docker(host, ["service", "ps", name, "--no-trunc", "--format", "{{.Node}}: {{.CurrentState}} {{.Error}}"]).catch(() => "");
    return out.split("\n").filter(Boolean).slice(0, 6).join("\n");
}

/**
 * Waits until the service has converged: a rolling update Swarm started for this change has completed (one that
 * Swarm rolled back or paused fails `up`, naming why), and every task that should run is running (healthy, where
 * there is a healthcheck: Swarm reports a task running only then).
 */
async function converge(inputs: SwarmServiceInputs, previousUpdate: string | undefined, expectUpdate: boolean): Promise<void> {
    const deadline = Date.now() + inputs.convergeTimeoutSeconds * 1000;
    for (;;) {
        const service = await inspect(inputs.host, "service", inputs.name);
        if (!service) throw new Error(`service ${inputs.name} disappeared while berth waited for it to converge`);
        const status = service.UpdateStatus;
        const ours = status && JSON.stringify(status.StartedAt) !== previousUpdate;
        if (ours && /rollback_completed|paused/.test(status.State)) {
            throw new Error(`service ${inputs.name}: Swarm ${status.State === "rollback_completed" ? "rolled the update back" : `paused the update (${status.State})`}: ${status.Message}\n${await taskErrors(inputs.host, inputs.name)}`);
        }
        const updateDone = !expectUpdate || (ours && status.State === "completed");
        if (updateDone) {
            const tasks = await desiredTasks(inputs.host, inputs.name);
            const running = tasks.filter((t) => t.state.startsWith("Running")).length;
            const wanted = inputs.mode === "replicated" ? inputs.replicas : tasks.length;
            if (running === wanted && tasks.length === wanted) return;
        }
        if (Date.now() > deadline) {
            throw new Error(`service ${inputs.name} did not converge within ${inputs.convergeTimeoutSeconds}s${status ? ` (update: ${status.State})` : ""}:\n${await taskErrors(inputs.host, inputs.name)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
}

/** The settings `docker service inspect` reports, as state records them (what a refresh shows). */
export function observedSpec(service: any): Partial<SwarmServiceState> {
    const spec = service.Spec ?? {};
    const container = spec.TaskTemplate?.ContainerSpec ?? {};
    return {
        serviceId: service.ID,
        // Swarm pins tags to digests (image@sha256:…); berth deploys by digest already.
        runningImage: String(container.Image ?? ""),
        runningReplicas: spec.Mode?.Replicated?.Replicas ?? 0,
    };
}

async function record(inputs: SwarmServiceInputs): Promise<SwarmServiceState> {
    const { registry, ...rest } = inputs;
    const service = await inspect(inputs.host, "service", inputs.name);
    return { ...rest, serviceId: "", runningImage: "", runningReplicas: 0, ...observedSpec(service) };
}

/**
 * Waits until no running container holds the service's volumes: tasks of this same service (a replacement's
 * predecessor) may still be stopping; any other user is refused at once.
 */
async function awaitFreeVolumes(inputs: SwarmServiceInputs): Promise<void> {
    if (inputs.volumeHost === undefined) return;
    const deadline = Date.now() + (inputs.stopTimeoutSeconds + 30) * 1000;
    for (const volume of inputs.mounts) {
        for (;;) {
            const users = await volumeUsers(inputs.volumeHost, volume.source);
            if (users.length === 0) break;
            if (users.some((user) => user.service !== inputs.name) || Date.now() > deadline) throw volumeInUse(volume.source, inputs.volumeHost, users);
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
    }
}

async function createService(inputs: SwarmServiceInputs): Promise<SwarmServiceState> {
    await awaitFreeVolumes(inputs);
    const image = await imageConfig(inputs);
    await withRegistryLogin(inputs.host, inputs.registry, (loggedIn) => loggedIn(serviceCreateArgs(inputs, image)));
    try {
        await converge(inputs, undefined, false);
    } catch (err) {
        // A service that never converged is removed: a failed deploy leaves nothing half-made behind.
        await docker(inputs.host, ["service", "rm", inputs.name]).catch(ignoreMissing);
        throw err;
    }
    return record(inputs);
}

/** Task states that still hold a container (and its volumes and networks) on some node. */
const LIVE_TASK = /^(New|Allocated|Pending|Assigned|Accepted|Preparing|Ready|Starting|Running)\b/;

/**
 * Removes the service and waits until its tasks are gone (a delete-first replacement must not overlap them, and a
 * stack moving back to hosts must find its volumes and network names free). Once a service is removed, no one can
 * see its tasks on other nodes: a replicated one is first scaled to none, so the manager reports when every node has
 * stopped its task. A node that is down never reports: the wait ends after the stop timeout.
 */
async function removeService(host: DockerHost, name: string, timeoutSeconds: number): Promise<void> {
    const deadline = Date.now() + (timeoutSeconds + 30) * 1000;
    const service = await inspect(host, "service", name);
    if (!service) return;
    if (service.Spec?.Mode?.Replicated) {
        await docker(host, ["service", "update", "--detach", "--replicas", "0", name]).catch(ignoreMissing);
        while (Date.now() < deadline) {
            const states = await docker(host, ["service", "ps", name, "--format", "{{.CurrentState}}"]).catch(() => "");
            if (!states.split("\n").some((state) => LIVE_TASK.test(state))) break;
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
    }
    await docker(host, ["service", "rm", name]).catch(ignoreMissing);
    while (Date.now() < deadline) {
        const left = await docker(host, ["ps", "--all", "--quiet", "--filter", `label=com.docker.swarm.service.name=${name}`]).catch(() => "");
        // Tasks on other nodes are not visible here; a manager's own list of them ends with the service.
        if (!left.trim()) return;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: SwarmServiceInputs) {
        const state = await createService(inputs);
        return { id: inputs.name, outs: state };
    },
    async diff(id: string, olds: SwarmServiceState, news: SwarmServiceInputs) {
        const replaces = changedKeys(olds, news, replaceKeys);
        const updates = changedKeys(olds, news, updateKeys);
        // Removed by hand, or scaled by hand: the next `up` puts it back as declared.
        const service = olds.host === news.host ? await inspect(news.host, "service", olds.name ?? id) : {};
        const observed = service?.Spec ? observedSpec(service) : undefined;
        const drifted = service === undefined || (observed !== undefined && ((news.mode === "replicated" && observed.runningReplicas !== news.replicas)
            || (olds.runningImage !== "" && observed.runningImage !== olds.runningImage)));
        return { changes: replaces.length + updates.length > 0 || drifted, replaces, deleteBeforeReplace: true };
    },
    async update(id: string, olds: SwarmServiceState, news: SwarmServiceInputs) {
        const service = await inspect(news.host, "service", olds.name ?? id);
        if (!service) return { outs: await createService(news) };
        const previousUpdate = JSON.stringify(service.UpdateStatus?.StartedAt);
        const image = await imageConfig(news);
        await withRegistryLogin(news.host, news.registry, (loggedIn) => loggedIn(serviceUpdateArgs(olds, news, image)));
        // Only a change of what tasks run starts a rolling update (a new replica count does not): Swarm's own verdict.
        const updated = await inspect(news.host, "service", news.name);
        await converge(news, previousUpdate, changedKeys(updated?.PreviousSpec ?? {}, updated?.Spec ?? {}, ["TaskTemplate"]).length > 0);
        return { outs: await record(news) };
    },
    async read(id: string, props: SwarmServiceState) {
        const service = await inspect(props.host, "service", props.name ?? id);
        return service ? { id, props: { ...props, ...observedSpec(service) } } : { id: "", props: {} };
    },
    async delete(id: string, props: SwarmServiceState) {
        await removeService(props.host, props.name ?? id, props.stopTimeoutSeconds);
    },
};
