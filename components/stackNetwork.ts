import * as pulumi from "@pulumi/pulumi";
import { DockerNetwork } from "./docker/network";
import { berthLabels, dockerName } from "./naming";

export interface StackNetworkArgs {
    dockerHost: string;
    stack: string;
}

/** The stack's private bridge network: its containers reach each other by alias, other stacks' cannot. */
export class StackNetwork extends pulumi.ComponentResource {
    readonly name: pulumi.Output<string>;

    constructor(name: string, args: StackNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:network:StackNetwork", name, {}, opts);
        const network = new DockerNetwork(`${name}-network`, {
            host: args.dockerHost,
            name: dockerName(args.stack, "net"),
            labels: berthLabels(args.stack, "network"),
        }, { parent: this });
        this.name = network.name;
        this.registerOutputs({ name: this.name });
    }
}
