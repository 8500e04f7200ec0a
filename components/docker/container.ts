import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { DockerContainerInputs } from "./commands/container";
import { InputsOf, withSecretCredentials } from "./resource";

export type { DockerContainerInputs };

/** One container, optionally held in `create` until its healthcheck passes. */
export class DockerContainer extends DockerResource {
    declare readonly name: pulumi.Output<string>;
    declare readonly containerId: pulumi.Output<string>;
    /** IP address on its first network (what the proxy routes to); empty while stopped. */
    declare readonly address: pulumi.Output<string>;
    /** The image it runs, as the engine reports it. */
    declare readonly image: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<DockerContainerInputs>, opts?: pulumi.CustomResourceOptions) {
        super("container", "DockerContainer", name, { ...withSecretCredentials(args), name: undefined, containerId: undefined, address: undefined }, opts);
    }
}
