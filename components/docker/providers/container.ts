import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { parseImageRef } from "../../imageReference";
import { docker, DockerError, DockerHost, inspect, startContainer, stopAndRemoveContainer } from "../cli";
import { changedKeys, envHash, ignoreMissing, volumeInUse, volumeUsers, withEnvironment } from "../resource";
import { pullIfMissing } from "./image";
import { readProxyAhead } from "./nginx";
import { createArgs, DockerContainerInputs, updateArgs } from "../commands/container";
import { waitUntilHealthy } from "../health";
import { engineLogDriver } from "../engineFacts";
import { LABEL } from "../../naming";

/** Changes `docker update` applies to a running container; everything else needs a new container. */
const inPlaceKeys = ["restart", "memoryBytes", "cpus"] as const;

const replaceKeys = [
    "host", "namePrefix", "image", "command", "init", "envHash", "labels", "networks", "ports", "volumes",
    "healthcheck", "noHealthcheck", "stopTimeoutSeconds", "logDriver", "logOptions", "logRotation",
] as const;

/** What a guarded swap can change on a container holding a data volume: everything but its host, name and volumes. */
const swappableKeys: readonly string[] = replaceKeys.filter((key) => !["host", "namePrefix", "volumes"].includes(key));

/**
 * Whether a change that needs a new container is made as a guarded swap (see swapContainer) rather than by
 * replacing the resource delete-first: the container holds a data volume, and it stays on its host and volume.
 */
export function swapsInPlace(replaces: string[], inputs: Pick<DockerContainerInputs, "volumes">): boolean {
    return inputs.volumes.length > 0 && replaces.length > 0 && replaces.every((key) => swappableKeys.includes(key));
}

/** Database servers whose data directory a new major version cannot open without a dump and restore. */
const VERSIONED_DATA = ["postgres", "mysql", "mariadb"];

/** `registry/path/name:15.4-alpine@sha256:…` → its name (`name`) and the tag's leading number (15), where it has them. */
function imageMajor(image: string): { name: string; major?: number } {
    const { path, tag } = parseImageRef(image) ?? { path: "", tag: "" };
    const name = path.split("/").pop() ?? "";
    const major = /^([0-9]+)/.exec(tag)?.[1];
    return { name, ...(major !== undefined ? { major: Number(major) } : {}) };
}

/**
 * Refuses a Postgres/MySQL/MariaDB image change that moves the server to another major version: the new server
 * cannot read the old one's data directory. (An image by digest only, or a tag without a number, is not judged
 * here; the swap's health gate then keeps the old server if the new one cannot start.)
 */
export function refuseMajorUpgrade(from: string, to: string, name: string): void {
    const before = imageMajor(from);
    const after = imageMajor(to);
    if (!VERSIONED_DATA.includes(after.name) || before.name !== after.name || before.major === undefined || after.major === undefined || before.major === after.major) return;
    throw new Error([
        `${name}: ${from} → ${to} changes ${after.name}'s major version (${before.major} → ${after.major}) on an existing data volume, which ${after.name} ${after.major} cannot read. berth did not try; nothing changed.`,
        `To upgrade: dump the data with version ${before.major} (${after.name === "postgres" ? "pg_dumpall" : "mysqldump --all-databases --single-transaction"}), declare a second service with the new image (another name, so an empty volume),`,
        `restore the dump into it, point berth:dependsOn at it and run up; remove the old service once the app runs on the new one. To stay, set the image back to ${from}.`,
    ].join("\n"));
}

/** What the engine reports of a container, as state records it (see observedState). */
export interface ObservedContainer {
    /** Whether it runs (a container the engine is restarting counts: its restart policy is at work). */
    running: boolean;
    /** Running, but its healthcheck failed `retries` times in a row. */
    unhealthy: boolean;
    /** Its IP address on its first network, where the proxy reaches it; empty while stopped. */
    address: string;
}

/** The container as recorded: its inputs without secrets, its identity, and what the engine last reported. */
export type RecordedState = Omit<DockerContainerInputs, "env" | "registry"> & ObservedContainer & {
    envHash: string;
    /** The container's current name: a recovery may have replaced the one the resource was created with (its id). */
    name: string;
    containerId: string;
};

/** What state keeps of the inputs: no environment values (only their hash), no registry login. */
function recordedState(inputs: DockerContainerInputs, container: any): RecordedState {
    const { env, registry, ...rest } = inputs;
    return {
        ...rest,
        envHash: envHash(env),
        name: String(container.Name).replace(/^\//, ""),
        containerId: container.Id,
        ...observedState(container, inputs),
    };
}

/** Docker's restart policy object in the notation `docker run --restart` takes. */
export function restartPolicy(policy: { Name?: string; MaximumRetryCount?: number } | undefined): string {
    const name = policy?.Name || "no";
    return name === "on-failure" && (policy?.MaximumRetryCount ?? 0) > 0 ? `${name}:${policy!.MaximumRetryCount}` : name;
}

/**
 * The settings of `recorded` as `docker inspect` shows them now, so a refresh sees drift: stopped or unhealthy,
 * restart policy and limits changed by `docker update`, another image, a network detached.
 */
export function observedState<T extends Pick<DockerContainerInputs, "networks">>(container: any, recorded: T): ObservedContainer & Pick<DockerContainerInputs, "restart" | "memoryBytes" | "cpus" | "image" | "networks"> {
    const attached: Record<string, { IPAddress?: string }> = container.NetworkSettings?.Networks ?? {};
    const [first] = recorded.networks;
    return {
        running: container.State?.Running === true,
        // A stopped container keeps its last verdict; only a running one can be unhealthy now.
        unhealthy: container.State?.Running === true && container.State?.Health?.Status === "unhealthy",
        address: (first && container.State?.Running && attached[first.name]?.IPAddress) || "",
        restart: restartPolicy(container.HostConfig?.RestartPolicy),
        memoryBytes: container.HostConfig?.Memory ?? 0,
        cpus: (container.HostConfig?.NanoCpus ?? 0) / 1e9,
        image: container.Config?.Image ?? "",
        networks: recorded.networks.filter((network) => network.name in attached),
    };
}

/** Whether a container must be recovered (started again, or replaced) before it serves as declared. */
export function needsRecovery(state: Partial<ObservedContainer>): boolean {
    // State written before berth observed containers has no `running`: it was recorded running.
    return state.running === false || state.unhealthy === true;
}

/** Creates and starts a new container `<namePrefix>-<random>`, and returns once it is healthy (if asked to wait). */
export async function createContainer(inputs: DockerContainerInputs): Promise<RecordedState> {
    const name = `${inputs.namePrefix}-${crypto.randomBytes(3).toString("hex")}`;
    for (const volume of inputs.volumes.filter((v) => !v.bind && !v.shared)) {
        const users = await volumeUsers(inputs.host, volume.source);
        if (users.length > 0) throw volumeInUse(volume.source, inputs.host, users);
    }
    await pullIfMissing(inputs.host, inputs.image, inputs.registry);
    const engineDriver = inputs.logDriver ? "" : await engineLogDriver(inputs.host);
    await withEnvironment(inputs.env, ({ flags, cliEnv }) => {
        const [create, ...rest] = createArgs(name, inputs, engineDriver);
        return docker(inputs.host, [create, ...flags, ...rest], { env: cliEnv });
    });
    try {
        for (const extra of inputs.networks.slice(1)) {
            await docker(inputs.host, ["network", "connect", ...extra.aliases.flatMap((a) => ["--alias", a]), extra.name, name]);
        }
        await startContainer(inputs.host, name);
        if (inputs.healthTimeoutSeconds > 0) {
            await waitUntilHealthy(inputs, name);
        }
    } catch (err) {
        // A container that never became healthy is removed, so the failed deploy leaves the old one serving alone.
        const logs = await docker(inputs.host, ["logs", "--tail", "20", name]).catch(() => "");
        await docker(inputs.host, ["rm", "--force", name]).catch(ignoreMissing);
        // Named with its host: in a rollout, which host failed is the first thing to know.
        const where = inputs.host && !(err instanceof DockerError) ? `${inputs.host}: ` : "";
        throw new Error(`${where}${(err as Error).message}${logs ? `\nlast log lines:\n${logs}` : ""}`);
    }
    return recordedState(inputs, await inspect(inputs.host, "container", name));
}

/**
 * A container holding a data volume, given a new image or settings: the new image is pulled first (a failure leaves
 * the old container running as it was), the old container is stopped but kept (two servers never run on one data
 * directory), the new one starts on the same volume and must become healthy; then the old one is removed. If the
 * new one cannot start or become healthy, it is removed, the old one is started again and health-gated, and the
 * change fails saying so.
 */
async function swapContainer(current: RecordedState, news: DockerContainerInputs): Promise<RecordedState> {
    const where = news.host || "the local engine";
    await pullIfMissing(news.host, news.image, news.registry).catch((err: Error) => {
        throw new Error(`${where}: the new image ${news.image} could not be pulled, so ${current.name} (${current.image}) runs on as it was: ${err.message}`);
    });
    await docker(news.host, ["stop", "--time", String(current.stopTimeoutSeconds), current.name]).catch(ignoreMissing);
    let swapped: RecordedState;
    try {
        swapped = await createContainer(news);
    } catch (err) {
        await startContainer(news.host, current.name);
        await waitUntilHealthy(news, current.name);
        throw new Error(`${where}: ${news.image} did not start healthy on the data of ${current.name}, so ${current.name} (${current.image}) was started again on the same volume and serves as before:\n${(err as Error).message}`);
    }
    await removeContainer(news.host, current.name, 0);
    return swapped;
}

/** Stop (draining: SIGTERM, then stopTimeoutSeconds) and remove; a container already gone is fine. */
async function removeContainer(host: DockerHost, name: string, stopTimeoutSeconds: number): Promise<void> {
    await stopAndRemoveContainer(host, name, stopTimeoutSeconds).catch(ignoreMissing);
}

/**
 * Brings a stopped or unhealthy container back as declared: a stopped one is started again and health-gated; one
 * that cannot start or become healthy is replaced by a new, healthy one. A container holding a data volume or a
 * host port is removed first (two database servers must never share a data directory, two containers cannot bind
 * one port); any other one only after its replacement is healthy.
 */
async function recover(recorded: RecordedState, inputs: DockerContainerInputs): Promise<RecordedState> {
    const gate = () => waitUntilHealthy(inputs, recorded.name);
    if (recorded.running === false) {
        const restarted = await startContainer(inputs.host, recorded.name)
            .then(() => (inputs.healthTimeoutSeconds > 0 ? gate() : undefined))
            .then(() => true, () => false);
        if (restarted) {
            await applyInPlace(inputs, recorded.name);
            return recordedState(inputs, await inspect(inputs.host, "container", recorded.name));
        }
    }
    // Its data, a published port or (on the host's network) a listening one: held by one container at a time.
    const exclusive = inputs.volumes.length > 0 || inputs.ports.length > 0 || inputs.networks.some((n) => n.name === "host");
    if (exclusive) await removeContainer(inputs.host, recorded.name, inputs.stopTimeoutSeconds);
    const replacement = await createContainer(inputs);
    if (!exclusive) await removeContainer(inputs.host, recorded.name, inputs.stopTimeoutSeconds);
    return replacement;
}

/** Sets restart policy and limits on a container with `docker update`. */
async function applyInPlace(inputs: DockerContainerInputs, name: string): Promise<void> {
    await docker(inputs.host, updateArgs(name, inputs));
}

/**
 * What `up` does to a container as it is now (`current`: recorded, then observed) to make it as declared:
 * replace it, update it in place (`docker update`), recover it (update: start again or replace), record the
 * address it runs on now (update), or nothing.
 */
export function containerDiff(recorded: RecordedState, current: RecordedState, news: DockerContainerInputs): { changes: boolean; replaces: string[] } {
    const desired = { ...news, envHash: envHash(news.env) };
    const replaces = [
        ...changedKeys<RecordedState>(current, desired, replaceKeys),
        // `docker update` can change a limit but not lift one.
        ...(["memoryBytes", "cpus"] as const).filter((key) => current[key] > 0 && news[key] === 0),
    ];
    const updates = changedKeys<RecordedState>(current, desired, inPlaceKeys);
    // Started again by the engine on another address (its restart policy, after a reboot): the proxy routes by
    // address, so the new one must reach state. (State from before addresses were recorded has none.)
    const moved = recorded.address !== undefined && current.running && current.address !== recorded.address;
    return { changes: replaces.length + updates.length > 0 || needsRecovery(current) || moved, replaces };
}

/**
 * The recorded state with what the engine reports now. A container that no longer exists counts as stopped, so
 * `up` recovers it like one. Every diff and update starts here: a plain `up` repairs drift without a refresh.
 */
async function observe(id: string, recorded: RecordedState): Promise<RecordedState> {
    const found = await inspect(recorded.host, "container", recorded.name ?? id);
    return found ? { ...recorded, ...observedState(found, recorded) } : { ...recorded, running: false, unhealthy: false, address: "" };
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: DockerContainerInputs) {
        const state = await createContainer(inputs);
        return { id: state.name, outs: state };
    },
    async diff(id: string, olds: RecordedState, news: DockerContainerInputs) {
        // On another engine it is a new container anyway; the old engine may not even answer any more.
        const diff = containerDiff(olds, olds.host === news.host ? await observe(id, olds) : olds, news);
        if (!diff.changes && news.labels[LABEL.role] === "proxy") readProxyAhead(news.host, olds.name ?? id);
        if (swapsInPlace(diff.replaces, news)) {
            if (diff.replaces.includes("image")) refuseMajorUpgrade(olds.image, news.image, olds.name ?? id);
            return { changes: true, replaces: [] };
        }
        return diff;
    },
    async update(id: string, olds: RecordedState, news: DockerContainerInputs) {
        const current = await observe(id, olds);
        if (swapsInPlace(containerDiff(olds, current, news).replaces, news)) {
            return { outs: await swapContainer(current, news) };
        }
        if (needsRecovery(current)) {
            return { outs: await recover(current, news) };
        }
        await applyInPlace(news, current.name);
        return { outs: recordedState(news, await inspect(news.host, "container", current.name)) };
    },
    async read(id: string, props: RecordedState) {
        const found = await inspect(props.host, "container", props.name ?? id);
        // Gone: the engine lost it or someone removed it; the next `up` creates it again.
        return found ? { id, props: { ...props, ...observedState(found, props) } } : { id: "", props: {} };
    },
    async delete(id: string, props: RecordedState) {
        // `stop` sends SIGTERM and waits stopTimeoutSeconds, so in-flight requests drain before removal.
        await removeContainer(props.host, props.name ?? id, props.stopTimeoutSeconds);
    },
};
