import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { SwarmClusterInputs } from "./providers/swarmCluster";
import { InputsOf } from "./resource";

/** The stack's hosts as one Docker Swarm: formed from bare engines, or an existing cluster used as it is. */
export class SwarmCluster extends DockerResource {
    declare readonly clusterId: pulumi.Output<string>;
    /** Each host's node id, in berth:hosts order. */
    declare readonly nodeIds: pulumi.Output<string[]>;

    constructor(name: string, args: InputsOf<SwarmClusterInputs>, opts?: pulumi.CustomResourceOptions) {
        super("swarmCluster", "SwarmCluster", name, { ...args, clusterId: undefined, nodeIds: undefined, workerToken: undefined, managerToken: undefined },
            { ...opts, additionalSecretOutputs: ["workerToken", "managerToken"] });
    }
}
