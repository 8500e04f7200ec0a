import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { SwarmSecretInputs } from "./providers/swarmSecret";
import { InputsOf } from "./resource";

/** An immutable Swarm secret named after its content: a new value is a new secret, the old one removed once unused. */
export class SwarmSecret extends DockerResource {
    declare readonly name: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<SwarmSecretInputs>, opts?: pulumi.CustomResourceOptions) {
        super("swarmSecret", "SwarmSecret", name, { ...args, content: pulumi.secret(args.content), name: undefined }, opts);
    }
}
