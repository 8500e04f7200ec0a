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
        return found ? { id, props: { ...props, mountpoint: found.Mountpoint } } : { id: "", props: {} };
    },
    async delete(id: string, props: DockerVolumeInputs) {
        await docker(props.host, ["volume", "rm", id]).catch(ignoreMissing);
    },
};
