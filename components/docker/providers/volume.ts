import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost, inspect, labelFlags } from "../cli";
import { changedKeys, ignoreMissing, refuseOtherStacks } from "../resource";

export interface DockerVolumeInputs {
    host: DockerHost;
    name: string;
    labels: Record<string, string>;
    /**
     * Whether the data may go with the stack (per-branch stacks). Recorded for policies (non-ephemeral data
     * volumes must be protected); never diffed, so it changes no volume.
     */
    ephemeral?: boolean;
}

const volumeKeys = ["host", "name", "labels"] as const;

/** Names of lost volumes the user has accepted to start again empty, for this one run: `BERTH_ACCEPT_DATA_LOSS=a,b`. */
export function acceptedLosses(env: NodeJS.ProcessEnv = process.env): string[] {
    return (env.BERTH_ACCEPT_DATA_LOSS ?? "").split(/[\s,]+/).filter(Boolean);
}

/** Said when a kept data volume has vanished from its engine: never recreated empty without an explicit yes. */
export function lostDataMessage(volume: string, host: string): string {
    return [
        `data volume ${volume} no longer exists on ${host || "the local Docker engine"}: it was deleted outside berth, and the data it held is gone.`,
        "berth does not recreate it empty on its own, so nothing was changed.",
        `To restore: create the volume ${volume} again from a backup (docker volume create ${volume}, then restore into it), and run up again.`,
        `To accept the loss and start with an empty volume: BERTH_ACCEPT_DATA_LOSS=${volume} npm run pulumi -- up --stack <stack>`,
    ].join("\n");
}

/** Said when a kept volume's service is moved to another host (or its host removed): it would start empty there. */
export function movedDataMessage(volume: string, from: string, to: string): string {
    const source = from || "the local Docker engine";
    return [
        `data volume ${volume} lives on ${source}; this config would run its service on ${to || "the local Docker engine"}, where it would start with an empty volume. Nothing was changed.`,
        "To move the data: stop writers (or take a consistent dump), copy the volume to the new host, e.g.",
        `  docker -H ${from || "unix:///var/run/docker.sock"} run --rm -v ${volume}:/data <any image with tar> tar -C /data -c . | docker -H ${to} run --rm -i -v ${volume}:/data <same image> tar -C /data -x`,
        `then tell berth the volume moved: npm run pulumi -- state delete <the volume's URN> --stack <stack> (berth adopts the copy on the new host), and run up.`,
        `To keep the service where its data is: set services.<name>.host back to ${from || '""'} (and keep that host in berth:hosts).`,
    ].join("\n");
}

/** Creates the volume unless it exists: a volume retained by an earlier destroy is adopted again with its data. */
async function ensureVolume(inputs: DockerVolumeInputs) {
    const existing = await inspect(inputs.host, "volume", inputs.name);
    refuseOtherStacks("data volume", inputs.name, inputs.host, existing, inputs.labels, "adopt");
    if (!existing) {
        await docker(inputs.host, ["volume", "create", ...labelFlags(inputs.labels), inputs.name]);
    }
    const mountpoint = (await inspect(inputs.host, "volume", inputs.name))?.Mountpoint ?? "";
    return { ...inputs, mountpoint };
}

/** A kept volume that vanished is lost data: refused unless the stack is ephemeral or the loss was accepted. */
function refuseLostData(volume: string, inputs: DockerVolumeInputs): void {
    if (!inputs.ephemeral && !acceptedLosses().includes(volume)) throw new Error(lostDataMessage(volume, inputs.host));
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: DockerVolumeInputs) {
        return { id: inputs.name, outs: await ensureVolume(inputs) };
    },
    async diff(id: string, olds: DockerVolumeInputs, news: DockerVolumeInputs) {
        if (olds.host !== news.host && !news.ephemeral) throw new Error(movedDataMessage(id, olds.host, news.host));
        const replaces = changedKeys(olds, news, volumeKeys);
        if (replaces.length > 0) return { changes: true, replaces, deleteBeforeReplace: true };
        if (await inspect(news.host, "volume", id)) return { changes: false };
        refuseLostData(id, news);
        return { changes: true }; // accepted: `up` creates it again, empty
    },
    async update(id: string, _olds: DockerVolumeInputs, news: DockerVolumeInputs) {
        refuseLostData(id, news);
        return { outs: await ensureVolume(news) };
    },
    async read(id: string, props: DockerVolumeInputs) {
        const found = await inspect(props.host, "volume", id);
        if (found) return { id, props: { ...props, mountpoint: found.Mountpoint } };
        refuseLostData(id, props);
        return { id: "", props: {} }; // the next `up` creates it again, empty
    },
    async delete(id: string, props: DockerVolumeInputs) {
        refuseOtherStacks("data volume", id, props.host, await inspect(props.host, "volume", id), props.labels, "remove");
        await docker(props.host, ["volume", "rm", id]).catch(ignoreMissing);
    },
};
