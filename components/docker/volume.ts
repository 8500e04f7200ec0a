import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { DockerVolumeInputs } from "./providers/volume";
import { InputsOf } from "./resource";

export type { DockerVolumeInputs };

/** A named Docker volume. Whether it survives `destroy` is the caller's choice (`retainOnDelete`). */
export class DockerVolume extends DockerResource {
    declare readonly name: pulumi.Output<string>;
    declare readonly mountpoint: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<DockerVolumeInputs>, opts?: pulumi.CustomResourceOptions) {
        super("volume", "DockerVolume", name, { ...args, mountpoint: undefined }, opts);
    }
}
