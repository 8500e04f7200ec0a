import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { CanaryReleaseInputs } from "./providers/canaryRelease";
import { InputsOf, withSecretCredentials } from "./resource";

export type { CanaryReleaseInputs };

/**
 * A new release watched before any replica changes (berth:canary, berth:watchSeconds): its containers beside the
 * replicas on every host, a share of each proxy's requests (then, for the watch, all of them), the proxies' figures
 * judged together. A bad verdict fails `up` here with the figures; either way every request goes back to the replicas
 * and the new containers go, so the replicas are then replaced as in any release.
 */
export class CanaryRelease extends DockerResource {
    /** The image it last watched, and what it found. */
    declare readonly released: pulumi.Output<string>;
    declare readonly found: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<CanaryReleaseInputs>, opts?: pulumi.CustomResourceOptions) {
        super("canaryRelease", "CanaryRelease", name, { ...withSecretCredentials(args), released: undefined, found: undefined }, opts);
    }
}
