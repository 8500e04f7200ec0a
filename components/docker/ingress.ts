import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { IngressInputs } from "./providers/ingress";
import type { IngressRouteInputs } from "./providers/ingressRoute";
import { InputsOf, withSecretCredentials } from "./resource";

export type { IngressInputs, IngressRouteInputs };

/** A host's front door (berth's Caddy on 80 and 443): made by the first stack that needs it, removed by none. */
export class IngressContainer extends DockerResource {
    declare readonly runningImage: pulumi.Output<string>;

    constructor(name: string, args: InputsOf<IngressInputs>, opts?: pulumi.CustomResourceOptions) {
        super("ingress", "IngressContainer", name, { ...withSecretCredentials(args), running: undefined, runningImage: undefined }, opts);
    }
}

/** One stack's names on a host's front door: its route, its certificates; removed with the stack. */
export class IngressRoute extends DockerResource {
    constructor(name: string, args: InputsOf<IngressRouteInputs>, opts?: pulumi.CustomResourceOptions) {
        // The certificate travels with its key: encrypted wherever the engine keeps inputs.
        super("ingressRoute", "IngressRoute", name, { ...args, certificate: args.certificate === undefined ? undefined : pulumi.secret(args.certificate) }, opts);
    }
}
