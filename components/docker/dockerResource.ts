import * as pulumi from "@pulumi/pulumi";

export type ProviderKind = "network" | "volume" | "image" | "pulledImage" | "container" | "proxyRoutes" | "proxySite" | "releaseGate" | "releaseHistory" | "rolloutPause" | "hostCheck" | "swarmCluster" | "swarmService" | "swarmSecret";

/**
 * The provider module Pulumi keeps in each dynamic resource's state (`__provider`) and runs in its provider
 * plugin. Written by hand rather than serialised from a closure, so it is tiny, identical for every berth version,
 * and costs the program nothing to produce (closure serialisation loads the TypeScript compiler). At run time it
 * loads berth's implementation, components/docker/providers/<kind>.ts, from the project the engine runs in: a
 * berth upgrade never shows up as a diff.
 */
export function providerModule(kind: ProviderKind): string {
    return `exports.handler = function () {
    const path = require("path");
    const load = () => {
        const root = process.cwd();
        require(path.join(root, "tools", "register-typescript.js")).register();
        return require(path.join(root, "components", "docker", "providers", ${JSON.stringify(kind)})).provider;
    };
    return {
        create: (inputs) => load().create(inputs),
        diff: (id, olds, news) => load().diff(id, olds, news),
        update: (id, olds, news) => load().update(id, olds, news),
        read: (id, props) => load().read(id, props),
        delete: (id, props) => load().delete(id, props),
    };
};
`;
}

/**
 * One of berth's Docker resources: a Pulumi dynamic resource (type `pulumi-nodejs:dynamic/berth:<Type>`, served by
 * the Node.js dynamic-provider plugin inside @pulumi/pulumi) whose implementation is
 * components/docker/providers/<kind>.ts.
 */
export abstract class DockerResource extends pulumi.CustomResource {
    protected constructor(kind: ProviderKind, type: string, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(`pulumi-nodejs:dynamic/berth:${type}`, name, { ...props, __provider: providerModule(kind) }, opts);
    }
}
