import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost, inspect, labelFlags } from "../cli";
import { changedKeys, ignoreMissing } from "../resource";

export interface DockerNetworkInputs {
    host: DockerHost;
    name: string;
    labels: Record<string, string>;
}

const networkKeys = ["host", "name", "labels"] as const;

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: DockerNetworkInputs) {
        const networkId = (await docker(inputs.host, ["network", "create", "--driver", "bridge", ...labelFlags(inputs.labels), inputs.name])).trim();
        return { id: inputs.name, outs: { ...inputs, networkId } };
    },
    async diff(_id: string, olds: DockerNetworkInputs, news: DockerNetworkInputs) {
        const replaces = changedKeys(olds, news, networkKeys);
        // A network name can exist only once per engine.
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },
    async read(id: string, props: DockerNetworkInputs) {
        const found = await inspect(props.host, "network", id);
        return found ? { id, props: { ...props, networkId: found.Id } } : { id: "", props: {} };
    },
    async delete(id: string, props: DockerNetworkInputs) {
        await docker(props.host, ["network", "rm", id]).catch(ignoreMissing);
    },
};
