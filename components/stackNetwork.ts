import * as pulumi from "@pulumi/pulumi";
import { DockerNetwork } from "./docker/network";
import { berthLabels, dockerName } from "./naming";

export interface StackNetworkArgs {
    host: string;
    stack: string;
    /** A swarm-wide overlay network (created through a manager) instead of a bridge on one engine. */
    overlay?: boolean;
}

/**
 * The stack's private bridge network on one host: its containers reach each other by alias, other stacks' cannot.
 * Everything on the host is attached to it, so what it depends on (host checks) comes before all of them.
 */
export class StackNetwork extends pulumi.ComponentResource {
    readonly name: pulumi.Output<string>;

    constructor(name: string, args: StackNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:network:StackNetwork", name, {}, opts);
        const network = new DockerNetwork(`${name}-network`, {
            host: args.host,
            name: dockerName(args.stack, "net"),
            labels: berthLabels(args.stack, "network"),
            ...(args.overlay ? { driver: "overlay" as const } : {}),
        }, { parent: this, dependsOn: opts?.dependsOn });
        this.name = network.name;
        this.registerOutputs({ name: this.name });
    }
}
