import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost, engineInfo, inspect, labelFlags } from "../cli";
import { changedKeys, ignoreMissing, refuseOtherStacks } from "../resource";

export interface DockerNetworkInputs {
    host: DockerHost;
    name: string;
    labels: Record<string, string>;
    /** Absent: a bridge on one engine. `overlay`: a swarm-wide network, attachable by one-off containers (the release gate). */
    driver?: "overlay";
}

const networkKeys = ["host", "name", "labels", "driver"] as const;

/**
 * A swarm worker keeps its copy of an overlay network until the managers tell it the network is gone, seconds after the
 * swarm's services went: a stack moving from swarm back to hosts waits that long for the name rather than refusing it.
 */
const SWARM_LEFTOVER_SECONDS = 30;
const LEFTOVER_POLL_MS = 500;

/**
 * A swarm network on a worker with no container of this engine attached: the swarm removes it on its own. (`lb-…` is
 * the node's load-balancer endpoint on the network, not a container.)
 */
async function isSwarmLeftover(host: DockerHost, network: any): Promise<boolean> {
    const containers = Object.keys(network.Containers ?? {}).filter((id) => !id.startsWith("lb-"));
    if (network.Scope !== "swarm" || containers.length > 0) return false;
    return (await engineInfo(host)).Swarm?.ControlAvailable !== true;
}

/** The network already under the stack's name, with the driver it needs, or undefined; a different one is refused. */
async function existingNetwork(inputs: DockerNetworkInputs) {
    const driver = inputs.driver ?? "bridge";
    const deadline = Date.now() + SWARM_LEFTOVER_SECONDS * 1000;
    for (;;) {
        const existing = await inspect(inputs.host, "network", inputs.name);
        refuseOtherStacks("network", inputs.name, inputs.host, existing, inputs.labels, "use");
        if (!existing || existing.Driver === driver) return existing;
        if (Date.now() > deadline || !(await isSwarmLeftover(inputs.host, existing))) {
            throw new Error(`network ${inputs.name} on ${inputs.host || "the local engine"} is ${/^[aeiou]/.test(existing.Driver) ? "an" : "a"} ${existing.Driver} network, not the ${driver} one this stack needs: `
                + "if the stack is moving between berth:orchestrator hosts and swarm, remove the old deployment first: npm run pulumi -- destroy --stack <stack> --exclude-protected (data volumes stay), then up (docs/swarm.md)");
        }
        await new Promise((resolve) => setTimeout(resolve, LEFTOVER_POLL_MS));
    }
}

/** Creates the network unless it exists (a network removed by hand comes back under its name). */
async function ensureNetwork(inputs: DockerNetworkInputs) {
    const existing = await existingNetwork(inputs);
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
        refuseOtherStacks("network", id, props.host, await inspect(props.host, "network", id), props.labels, "remove");
        await docker(props.host, ["network", "rm", id]).catch(ignoreMissing);
    },
};
