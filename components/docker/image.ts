import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { DockerImageInputs } from "./providers/image";
import { InputsOf, withSecretCredentials } from "./resource";

export type { DockerImageInputs };

/** An image built from a Dockerfile context and, when a registry is given, pushed to it. */
export class DockerImage extends DockerResource {
    declare readonly imageId: pulumi.Output<string>;
    declare readonly imageRef: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<DockerImageInputs>, opts?: pulumi.CustomResourceOptions) {
        super("image", "DockerImage", name, { ...withSecretCredentials(args), imageId: undefined, imageRef: undefined }, opts);
    }
}
