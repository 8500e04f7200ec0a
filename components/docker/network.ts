import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { DockerNetworkInputs } from "./providers/network";
import { InputsOf } from "./resource";

export type { DockerNetworkInputs };

/** A user-defined bridge network on one Docker engine. */
export class DockerNetwork extends DockerResource {
    declare readonly name: pulumi.Output<string>;
    declare readonly networkId: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<DockerNetworkInputs>, opts?: pulumi.CustomResourceOptions) {
        super("network", "DockerNetwork", name, { ...args, networkId: undefined }, opts);
    }
}
