import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { ReleaseGateInputs } from "./providers/releaseGate";
import { InputsOf, withSecretCredentials } from "./resource";

export type { ReleaseGateInputs };

/**
 * A command of the new image run once, before any replica changes: the release gate (its tests, against the
 * stack's services) or the release command (a migration). What depends on it waits; a failure stops the release.
 */
export class ReleaseGate extends DockerResource {
    declare readonly passedImage: pulumi.Output<string>;
    /** The last lines its command printed. */
    declare readonly output: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<ReleaseGateInputs>, opts?: pulumi.CustomResourceOptions) {
        // What a migration prints may hold anything (a connection string, a generated token): encrypted in state.
        super("releaseGate", "ReleaseGate", name, { ...withSecretCredentials(args), passedImage: undefined, output: undefined }, {
            ...opts,
            additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "output"],
        });
    }
}
