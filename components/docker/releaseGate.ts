import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { ReleaseGateInputs } from "./providers/releaseGate";
import { InputsOf, withSecretCredentials } from "./resource";

export type { ReleaseGateInputs };

/** Passes only once the image's own tests pass against the stack's services; what depends on it waits. */
export class ReleaseGate extends DockerResource {
    declare readonly passedImage: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<ReleaseGateInputs>, opts?: pulumi.CustomResourceOptions) {
        super("releaseGate", "ReleaseGate", name, { ...withSecretCredentials(args), passedImage: undefined }, opts);
    }
}
