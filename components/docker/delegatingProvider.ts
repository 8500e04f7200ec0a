import type * as pulumi from "@pulumi/pulumi";

export type ProviderKind = "network" | "volume" | "image" | "pulledImage" | "container" | "proxyRoutes" | "releaseGate" | "releaseHistory";

/**
 * The provider object Pulumi serialises into each dynamic resource's state. It is kept tiny and free of captured
 * modules: at run time it loads berth's implementation (components/docker/providers/<kind>.ts) from the project
 * the engine runs in. So the recorded provider never changes when berth's code does (no spurious diffs), and
 * serialisation never has to walk module internals.
 */
export function delegatingProvider(kind: ProviderKind): pulumi.dynamic.ResourceProvider {
    const load = (): pulumi.dynamic.ResourceProvider => {
        const path = require("path");
        const root = process.cwd();
        if (!require.extensions[".ts"]) {
            require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
        }
        return require(path.join(root, "components", "docker", "providers", kind)).provider;
    };
    return {
        create: (inputs) => load().create(inputs),
        diff: (id, olds, news) => load().diff!(id, olds, news),
        update: (id, olds, news) => load().update!(id, olds, news),
        read: (id, props) => load().read!(id, props),
        delete: (id, props) => load().delete!(id, props),
    };
}
