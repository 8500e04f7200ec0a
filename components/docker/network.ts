import * as pulumi from "@pulumi/pulumi";
import { delegatingProvider } from "./delegatingProvider";
import type { DockerNetworkInputs } from "./providers/network";
import { InputsOf } from "./resource";

export type { DockerNetworkInputs };

/** A user-defined bridge network on one Docker engine. */
export class DockerNetwork extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly networkId: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<DockerNetworkInputs>, opts?: pulumi.CustomResourceOptions) {
        super(delegatingProvider("network"), name, { ...args, networkId: undefined }, opts, "berth", "DockerNetwork");
    }
}
