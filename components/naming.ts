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
