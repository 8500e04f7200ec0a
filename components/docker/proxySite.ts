import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { ProxySiteInputs } from "./providers/proxySite";
import { InputsOf } from "./resource";

export type { ProxySiteInputs };

/** A running berth proxy's edge: HTTPS with the stack's certificate, the redirect to it, limits; a graceful reload. */
export class ProxySite extends DockerResource {
    constructor(name: string, args: InputsOf<ProxySiteInputs>, opts?: pulumi.CustomResourceOptions) {
        // The certificate travels with its key: encrypted wherever the engine keeps inputs.
        super("proxySite", "ProxySite", name, { ...args, tls: args.tls === undefined ? undefined : pulumi.secret(args.tls) }, opts);
    }
}
