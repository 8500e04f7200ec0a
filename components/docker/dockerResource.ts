import * as pulumi from "@pulumi/pulumi";
import { berthType } from "../naming";
import type { ProviderKind } from "./providers";

/** Names a stack's own host keys (berth:knownHosts): see cli.ts useStackKnownHosts. */
export function stackKnownHostsId(project: string, stack: string): string {
    return `${project}.${stack}`;
}

export type { ProviderKind };

/**
 * The provider module Pulumi keeps in each dynamic resource's state (`__provider`) and runs in its provider
 * plugin. Written by hand rather than serialised from a closure, so it is tiny, identical for every berth version,
 * and costs the program nothing to produce (closure serialisation loads the TypeScript compiler). At run time it
 * looks the resource's kind up in components/docker/providers/index.ts (PROVIDERS) of the project the engine runs
 * in: a berth upgrade never shows up as a diff.
 */
export function providerModule(kind: ProviderKind): string {
    return `exports.handler = function () {
    const path = require("path");
    const serve = (props) => {
        const root = process.cwd();
        require(path.join(root, "tools", "register-typescript.js")).register();
        return require(path.join(root, "components", "docker", "providers", "index")).providerFor(${JSON.stringify(kind)}, props && props.__stack);
    };
    return {
        create: (inputs) => serve(inputs).create(inputs),
        diff: (id, olds, news) => serve(news).diff(id, olds, news),
        update: (id, olds, news) => serve(news).update(id, olds, news),
        read: (id, props) => serve(props).read(id, props),
        delete: (id, props) => serve(props).delete(id, props),
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
