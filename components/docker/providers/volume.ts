import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost, inspect, labelFlags } from "../cli";
import { changedKeys, ignoreMissing } from "../resource";

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
        "(destroy reads the engine first too: add --refresh=false to destroy without deciding)",
    ].join("\n");
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: DockerVolumeInputs) {
        // `volume create` of an existing name returns that volume untouched: a volume retained by an earlier
        // destroy is adopted again with its data, which is the point of keeping it.
        const existing = await inspect(inputs.host, "volume", inputs.name);
        if (!existing) {
            await docker(inputs.host, ["volume", "create", ...labelFlags(inputs.labels), inputs.name]);
        }
        const mountpoint = (await inspect(inputs.host, "volume", inputs.name))?.Mountpoint ?? "";
        return { id: inputs.name, outs: { ...inputs, mountpoint } };
    },
    async diff(_id: string, olds: DockerVolumeInputs, news: DockerVolumeInputs) {
        const replaces = changedKeys(olds, news, volumeKeys);
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },
    async read(id: string, props: DockerVolumeInputs) {
        const found = await inspect(props.host, "volume", id);
        if (found) return { id, props: { ...props, mountpoint: found.Mountpoint } };
        if (!props.ephemeral && !acceptedLosses().includes(id)) throw new Error(lostDataMessage(id, props.host));
        return { id: "", props: {} }; // the next `up` creates it again, empty
    },
    async delete(id: string, props: DockerVolumeInputs) {
        await docker(props.host, ["volume", "rm", id]).catch(ignoreMissing);
    },
};
