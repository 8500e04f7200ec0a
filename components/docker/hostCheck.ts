import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { HostCheckInputs } from "./providers/hostCheck";
import { InputsOf, withSecretCredentials } from "./resource";

/** A remote host's preflight: SSH, Docker and the registry, checked before anything on any host changes. */
export class HostCheck extends DockerResource {
    declare readonly serverVersion: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<HostCheckInputs>, opts?: pulumi.CustomResourceOptions) {
        super("hostCheck", "HostCheck", name, { ...withSecretCredentials(args), serverVersion: undefined }, opts);
    }
}
