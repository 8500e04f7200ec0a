import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { ProxyRoutesInputs } from "./providers/proxyRoutes";
import { InputsOf } from "./resource";

export type { ProxyRoutesInputs };

/** The replicas a running berth proxy sends traffic to, applied with a graceful reload. */
export class ProxyRoutes extends DockerResource {
    constructor(name: string, args: InputsOf<ProxyRoutesInputs>, opts?: pulumi.CustomResourceOptions) {
        super("proxyRoutes", "ProxyRoutes", name, args, opts);
    }
}
