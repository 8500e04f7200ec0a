import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost, inspect, labelFlags } from "../cli";
import { changedKeys, ignoreMissing } from "../resource";

export interface DockerNetworkInputs {
    host: DockerHost;
    name: string;
    labels: Record<string, string>;
    /** Absent: a bridge on one engine. `overlay`: a swarm-wide network, attachable by one-off containers (the release gate). */
    driver?: "overlay";
}

const networkKeys = ["host", "name", "labels", "driver"] as const;

/** Creates the network unless it exists (a network removed by hand comes back under its name). */
async function ensureNetwork(inputs: DockerNetworkInputs) {
    const existing = await inspect(inputs.host, "network", inputs.name);
    const driver = inputs.driver ?? "bridge";
    if (existing && existing.Driver !== driver) {
        throw new Error(`network ${inputs.name} on ${inputs.host || "the local engine"} is ${/^[aeiou]/.test(existing.Driver) ? "an" : "a"} ${existing.Driver} network, not the ${driver} one this stack needs: `
            + "if the stack is moving between berth:orchestrator hosts and swarm, remove the old deployment first: npm run pulumi -- destroy --stack <stack> --exclude-protected (data volumes stay), then up (README: Swarm)");
    }
    const networkId = existing?.Id ?? (await docker(inputs.host, ["network", "create", ...(inputs.driver === "overlay" ? ["--driver", "overlay", "--attachable"] : ["--driver", "bridge"]), ...labelFlags(inputs.labels), inputs.name])).trim();
    return { ...inputs, networkId };
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: DockerNetworkInputs) {
        return { id: inputs.name, outs: await ensureNetwork(inputs) };
    },
    async diff(_id: string, olds: DockerNetworkInputs & { networkId: string }, news: DockerNetworkInputs) {
        const replaces = changedKeys(olds, news, networkKeys);
        if (replaces.length > 0) {
            // A network name can exist only once per engine.
            return { changes: true, replaces, deleteBeforeReplace: true };
        }
        // Removed (or replaced) by hand: `up` creates it again; the containers it lost are replaced by their own diff.
        return { changes: (await inspect(news.host, "network", news.name))?.Id !== olds.networkId };
    },
    async update(_id: string, _olds: DockerNetworkInputs, news: DockerNetworkInputs) {
        return { outs: await ensureNetwork(news) };
    },
    async read(id: string, props: DockerNetworkInputs) {
        const found = await inspect(props.host, "network", id);
        return found ? { id, props: { ...props, networkId: found.Id } } : { id: "", props: {} };
    },
    async delete(id: string, props: DockerNetworkInputs) {
        await docker(props.host, ["network", "rm", id]).catch(ignoreMissing);
    },
};
