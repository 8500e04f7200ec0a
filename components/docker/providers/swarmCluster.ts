import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost, engineApi, engineInfo } from "../cli";
import { changedKeys } from "../resource";

export interface SwarmClusterInputs {
    /** The cluster's nodes: the first `managers` are managers, the first of them where the swarm is formed. */
    hosts: DockerHost[];
    managers: number;
    /** Each host's address for the cluster's own traffic (what `--advertise-addr` takes), aligned with hosts. */
    addresses: string[];
    /** Where Swarm takes overlay networks' subnets from: never the hosts' own network. */
    addressPool: string;
}

export interface SwarmClusterState extends SwarmClusterInputs {
    clusterId: string;
    /** Each host's node id, aligned with hosts (what placement constraints name). */
    nodeIds: string[];
    /** Join tokens, kept as Pulumi secrets: anyone holding one can add a node to the cluster. */
    workerToken: string;
    managerToken: string;
}

interface NodeState {
    state: string;
    nodeId: string;
    isManager: boolean;
}

async function nodeState(host: DockerHost): Promise<NodeState> {
    const swarm = (await engineInfo(host)).Swarm;
    return { state: swarm.LocalNodeState || "inactive", nodeId: swarm.NodeID ?? "", isManager: swarm.ControlAvailable === true };
}

/** The cluster's nodes as its manager lists them. */
async function clusterNodes(manager: DockerHost): Promise<string[]> {
    return (await docker(manager, ["node", "ls", "--format", "{{.ID}}"])).split("\n").filter(Boolean);
}

/** Why a host cannot become a node of this cluster (it is in another one), or undefined. */
export function membershipProblem(host: DockerHost, node: NodeState, members: string[]): string | undefined {
    if (node.state === "inactive" || (node.state === "active" && members.includes(node.nodeId))) return undefined;
    return `${host || "the local engine"} is ${node.state === "active" ? "a node of another swarm" : `in swarm state "${node.state}"`}: `
        + "take it out of that cluster (docker swarm leave on the host), or list in berth:hosts only nodes of this one";
}

/**
 * Makes `hosts` one swarm: formed on the first host unless it already manages one (an existing cluster is used as
 * it is), the others joined with the manager or worker token. Idempotent: nodes already in the cluster are left alone.
 */
async function ensureCluster(inputs: SwarmClusterInputs): Promise<SwarmClusterState> {
    const [first, ...others] = inputs.hosts;
    let leader = await nodeState(first);
    if (leader.state === "inactive") {
        await docker(first, ["swarm", "init", ...(inputs.addresses[0] ? ["--advertise-addr", inputs.addresses[0]] : []), "--default-addr-pool", inputs.addressPool]);
        leader = await nodeState(first);
    }
    if (leader.state !== "active" || !leader.isManager) {
        throw new Error(`${first || "the local engine"} must manage the swarm (the first of berth:hosts is its manager), but it is ${leader.state === "active" ? "a worker node" : `in swarm state "${leader.state}"`}`);
    }
    const swarm = await engineApi(first, "GET", "/swarm");
    const managerAddress: string = (await engineInfo(first)).Swarm.NodeAddr;
    let members = await clusterNodes(first);
    const nodeIds = [leader.nodeId];
    for (const [i, host] of others.entries()) {
        let node = await nodeState(host);
        const problem = membershipProblem(host, node, members);
        if (problem) throw new Error(problem);
        if (node.state === "inactive") {
            // Through the API: a join token on a command line would show in the process list.
            await engineApi(host, "POST", "/swarm/join", {
                ListenAddr: "0.0.0.0:2377",
                AdvertiseAddr: inputs.addresses[i + 1] ?? "",
                RemoteAddrs: [`${managerAddress}:2377`],
                JoinToken: i + 1 < inputs.managers ? swarm.JoinTokens.Manager : swarm.JoinTokens.Worker,
            });
            node = await nodeState(host);
            members = await clusterNodes(first);
        }
        nodeIds.push(node.nodeId);
    }
    return { ...inputs, clusterId: swarm.ID, nodeIds, workerToken: swarm.JoinTokens.Worker, managerToken: swarm.JoinTokens.Manager };
}

const replaceKeys = ["addressPool"] as const;
const updateKeys = ["hosts", "managers", "addresses"] as const;

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: SwarmClusterInputs) {
        const state = await ensureCluster(inputs);
        return { id: state.clusterId, outs: state };
    },
    async diff(_id: string, olds: SwarmClusterState, news: SwarmClusterInputs) {
        const replaces = changedKeys(olds, news, replaceKeys);
        const updates = changedKeys(olds, news, updateKeys);
        // A node that left (or was reset) is joined again by the next `up`.
        const nodes = await Promise.all(news.hosts.map((host) => nodeState(host).catch(() => undefined)));
        // A node that does not answer is Swarm's to handle (its tasks move elsewhere), not a change of the cluster.
        const drifted = nodes.some((node, i) => node !== undefined && (node.state !== "active" || node.nodeId !== olds.nodeIds[i]));
        return { changes: replaces.length + updates.length > 0 || drifted, replaces };
    },
    async update(_id: string, _olds: SwarmClusterState, news: SwarmClusterInputs) {
        return { outs: await ensureCluster(news) };
    },
    async read(id: string, props: SwarmClusterState) {
        const swarm = await engineApi(props.hosts[0], "GET", "/swarm").catch(() => undefined);
        return { id, props: { ...props, clusterId: swarm?.ID ?? props.clusterId } };
    },
    async delete() {
        // The cluster outlives the stack, like its data: leaving it would stop every service on it, other stacks' too.
    },
};
