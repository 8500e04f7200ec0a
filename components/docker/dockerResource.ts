import * as pulumi from "@pulumi/pulumi";
import { berthType } from "../naming";

/** Names a stack's own host keys (berth:knownHosts): see cli.ts useStackKnownHosts. */
export function stackKnownHostsId(project: string, stack: string): string {
    return `${project}.${stack}`;
}

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
    // The stack a resource belongs to: its ssh connections trust that stack's berth:knownHosts, no other's.
    const trusting = (props) => {
        const provider = load();
        if (props && props.__stack) require(path.join(process.cwd(), "components", "docker", "cli")).useStackKnownHosts(props.__stack);
        return provider;
    };
    return {
        create: (inputs) => trusting(inputs).create(inputs),
        diff: (id, olds, news) => trusting(news).diff(id, olds, news),
        update: (id, olds, news) => trusting(news).update(id, olds, news),
        read: (id, props) => trusting(props).read(id, props),
        delete: (id, props) => trusting(props).delete(id, props),
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
        super(berthType(type), name, { ...props, __provider: providerModule(kind), __stack: stackKnownHostsId(pulumi.getProject(), pulumi.getStack()) }, opts);
    }
}
