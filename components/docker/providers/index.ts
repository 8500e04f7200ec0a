// Which provider serves each of berth's Docker resources: the one table the provider plugin looks a resource's
// kind up in (see dockerResource.ts). Each entry loads its module only when a resource of that kind is served.
import type * as pulumi from "@pulumi/pulumi";

type Provider = pulumi.dynamic.ResourceProvider;

export const PROVIDERS = {
    network: () => (require("./network") as typeof import("./network")).provider,
    volume: () => (require("./volume") as typeof import("./volume")).provider,
    image: () => (require("./image") as typeof import("./image")).provider,
    pulledImage: () => (require("./pulledImage") as typeof import("./pulledImage")).provider,
    container: () => (require("./container") as typeof import("./container")).provider,
    proxyRoutes: () => (require("./proxyRoutes") as typeof import("./proxyRoutes")).provider,
    ingress: () => (require("./ingress") as typeof import("./ingress")).provider,
    ingressRoute: () => (require("./ingressRoute") as typeof import("./ingressRoute")).provider,
    proxySite: () => (require("./proxySite") as typeof import("./proxySite")).provider,
    canaryRelease: () => (require("./canaryRelease") as typeof import("./canaryRelease")).provider,
    releaseGate: () => (require("./releaseGate") as typeof import("./releaseGate")).provider,
    releaseHistory: () => (require("./releaseHistory") as typeof import("./releaseHistory")).provider,
    backupRelease: () => (require("./backupRelease") as typeof import("./backupRelease")).provider,
    preReleaseBackup: () => (require("./preReleaseBackup") as typeof import("./preReleaseBackup")).provider,
    rolloutPause: () => (require("./rolloutPause") as typeof import("./rolloutPause")).provider,
    hostCheck: () => (require("./hostCheck") as typeof import("./hostCheck")).provider,
    swarmCluster: () => (require("./swarmCluster") as typeof import("./swarmCluster")).provider,
    swarmService: () => (require("./swarmService") as typeof import("./swarmService")).provider,
    swarmSecret: () => (require("./swarmSecret") as typeof import("./swarmSecret")).provider,
} satisfies Record<string, () => Provider>;

export type ProviderKind = keyof typeof PROVIDERS;

/** The provider of `kind`, for the resource whose stack is `stack` (`<project>.<stack>`): its ssh trusts that stack's host keys. */
export function providerFor(kind: ProviderKind, stack: string | undefined): Provider {
    const provider = PROVIDERS[kind]();
    if (stack) (require("../cli") as typeof import("../cli")).useStackKnownHosts(stack);
    return provider;
}
