import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { ReleaseHistoryInputs } from "./providers/releaseHistory";
import { InputsOf } from "./resource";

export type { ReleaseHistoryInputs };

/** The stack's current and previous releases; each new release also prunes what older ones left on the engine. */
export class ReleaseHistory extends DockerResource {
    declare readonly releases: pulumi.Output<string[]>;
    declare readonly previous: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<ReleaseHistoryInputs>, opts?: pulumi.CustomResourceOptions) {
        super("releaseHistory", "ReleaseHistory", name, { ...args, releases: undefined, previous: undefined }, opts);
    }
}
