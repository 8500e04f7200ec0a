/** Docker object names and labels for one stack, so two stacks on one engine never collide or see each other. */

export function stackPrefix(stack: string): string {
    return `berth-${stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`;
}

export function dockerName(stack: string, ...parts: string[]): string {
    return [stackPrefix(stack), ...parts].join("-");
}

export function berthLabels(stack: string, role: string, extra: Record<string, string> = {}): Record<string, string> {
    return { "berth.stack": stack, "berth.role": role, ...extra };
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
