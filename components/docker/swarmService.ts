import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { SwarmServiceInputs } from "./providers/swarmService";
import { InputsOf, withSecretCredentials } from "./resource";

export type { SwarmServiceInputs };

/** A Swarm service, created or updated and then waited on until it converged (or Swarm rolled it back). */
export class SwarmService extends DockerResource {
    declare readonly name: pulumi.Output<string>;
    declare readonly serviceId: pulumi.Output<string>;
    /** The image its tasks run, as Swarm reports it. */
    declare readonly runningImage: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<SwarmServiceInputs>, opts?: pulumi.CustomResourceOptions) {
        // Its plain environment is berth:env and berth's own settings, yet encrypted in state like every environment.
        super("swarmService", "SwarmService", name, { ...withSecretCredentials(args), plainEnv: pulumi.secret(args.plainEnv), serviceId: undefined, runningImage: undefined, runningReplicas: undefined }, {
            ...opts,
            additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "plainEnv"],
        });
    }
}
