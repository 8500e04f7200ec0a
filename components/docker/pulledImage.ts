import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { PulledImageInputs } from "./providers/pulledImage";
import { InputsOf, withSecretCredentials } from "./resource";

export type { PulledImageInputs };

/** An image that already exists in a registry, made present on the engine and pinned to its digest. */
export class PulledImage extends DockerResource {
    declare readonly imageRef: pulumi.Output<string>;
    declare readonly imageId: pulumi.Output<string>;
    /** The `berth.version` label of images berth built; empty for others. */
    declare readonly version: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<PulledImageInputs>, opts?: pulumi.CustomResourceOptions) {
        super("pulledImage", "PulledImage", name, { ...withSecretCredentials(args), imageRef: undefined, imageId: undefined, version: undefined }, opts);
    }
}
