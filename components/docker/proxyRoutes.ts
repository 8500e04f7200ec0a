import * as pulumi from "@pulumi/pulumi";
import { delegatingProvider } from "./delegatingProvider";
import type { ProxyRoutesInputs } from "./providers/proxyRoutes";
import { InputsOf } from "./resource";

export type { ProxyRoutesInputs };

/** The replicas a running berth proxy sends traffic to, applied with a graceful reload. */
export class ProxyRoutes extends pulumi.dynamic.Resource {
    constructor(name: string, args: InputsOf<ProxyRoutesInputs>, opts?: pulumi.CustomResourceOptions) {
        super(delegatingProvider("proxyRoutes"), name, args, opts, "berth", "ProxyRoutes");
    }
}
