import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { RolloutPauseInputs } from "./providers/rolloutPause";
import { InputsOf } from "./resource";

/** A pause between rollout batches: the next batch depends on it, it on the batch before. */
export class RolloutPause extends DockerResource {
    constructor(name: string, args: InputsOf<RolloutPauseInputs>, opts?: pulumi.CustomResourceOptions) {
        super("rolloutPause", "RolloutPause", name, { ...args }, opts);
    }
}
