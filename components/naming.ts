/** Docker object names and labels for one stack, so two stacks on one engine never collide or see each other. */

/** The labels berth puts on what it creates (config may set none in `berth.*`): read by berth, its scripts and its policy pack. */
export const LABEL = {
    /** The stack that owns it. */
    stack: "berth.stack",
    /** What it is in the stack: app, canary (a watched release beside app), worker, proxy, dependency, data, release-gate, one-off, app-env. */
    role: "berth.role",
    app: "berth.app",
    /** The release (git-based tag) an app container or image is. */
    version: "berth.version",
    /** On images: the stack that built it (pruned with its releases). */
    builtBy: "berth.built-by",
    /** A role's name (berth:roles) on its containers. */
    process: "berth.process",
    /** On data volumes: what the data is (the service's name). */
    purpose: "berth.purpose",
    /** On a dependency service's container: the service's name. */
    service: "berth.service",
    /** On berth's ingress image: `<Caddy version>-<berth's revision>` (images/ingress/Dockerfile). */
    ingressVersion: "berth.ingress-version",
} as const;

/** The Pulumi type of one of berth's Docker resources (dynamic resources served by Pulumi's Node.js provider). */
export function berthType(type: string): string {
    return `pulumi-nodejs:dynamic/berth:${type}`;
}

export function stackPrefix(stack: string): string {
    return `berth-${stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`;
}

export function dockerName(stack: string, ...parts: string[]): string {
    return [stackPrefix(stack), ...parts].join("-");
}

export function berthLabels(stack: string, role: string, extra: Record<string, string> = {}): Record<string, string> {
    return { [LABEL.stack]: stack, [LABEL.role]: role, ...extra };
}

/** Swarm names its services' DNS entries after them, and a DNS label holds at most 63 characters. */
export const SWARM_NAME_LIMIT = 63;

/** The Swarm service names a stack declares, each with the config key that names its last part. */
export function swarmServiceNames(stack: string, app: string, roles: string[], services: string[]): { key: string; name: string }[] {
    return [
        { key: "app", name: dockerName(stack, app) },
        { key: "app", name: dockerName(stack, "proxy") },
        ...roles.map((role) => ({ key: `roles.${role}`, name: dockerName(stack, app, role) })),
        ...services.map((service) => ({ key: `services.${service}`, name: dockerName(stack, service) })),
    ];
}

/** Resource names of host `index`: the first host keeps the names single-host stacks always had. */
export function hostScoped(name: string, index: number): string {
    return index === 0 ? name : `${name}-h${index + 1}`;
}
