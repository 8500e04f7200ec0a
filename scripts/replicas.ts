/**
 * A stack's running app replicas, found on its engines by berth's labels: what `npm run logs` and `npm run exec`
 * work on. The engines come from the stack's config file (`berth:hosts`; none: the local engine).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import * as yaml from "js-yaml";
import { cliEnvironment, useStackKnownHosts } from "../components/docker/cli";
import { stackKnownHostsId } from "../components/docker/dockerResource";
import { LABEL } from "../components/naming";

export const projectRoot = path.resolve(__dirname, "..");
/** Pulumi.yaml's project name. */
export const PROJECT = (yaml.load(fs.readFileSync(path.join(projectRoot, "Pulumi.yaml"), "utf8")) as { name: string }).name;

/** A mistake on the command line: printed as its message alone. */
export class UsageError extends Error {}

export interface Replica {
    host: string;
    name: string;
}

/** `docker` against one engine, through berth's ssh for ssh:// engines. */
export function dockerOn(host: string, ...args: string[]): string {
    return execFileSync("docker", [...(host ? ["--host", host] : []), ...args], { encoding: "utf8", env: cliEnvironment(host), maxBuffer: 256 * 1024 * 1024 }).trim();
}

/** The engines a stack deploys to; from then on this process's ssh connections trust that stack's host keys. */
export function stackHosts(stack: string): string[] {
    const file = path.join(projectRoot, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new UsageError(`no stack ${stack}: ${file} does not exist`);
    useStackKnownHosts(stackKnownHostsId(PROJECT, stack));
    const hosts = ((yaml.load(fs.readFileSync(file, "utf8")) as any)?.config?.["berth:hosts"] ?? []) as string[];
    return hosts.length > 0 ? hosts : [""];
}

/** The label filters that pick a role's containers: web's replicas, or the containers of a role of berth:roles. */
export function roleFilters(stack: string, role: string): string[] {
    const labels = role === "web" ? [`${LABEL.role}=app`] : [`${LABEL.role}=worker`, `${LABEL.process}=${role}`];
    return [`${LABEL.stack}=${stack}`, ...labels].flatMap((label) => ["--filter", `label=${label}`]);
}

/** The running containers of `role` (default: web) on every host of the stack, in host order. */
export function replicas(stack: string, role = "web"): Replica[] {
    const found = stackHosts(stack).flatMap((host) =>
        dockerOn(host, "ps", ...roleFilters(stack, role), "--format", "{{.Names}}")
            .split("\n").filter(Boolean).sort().map((name) => ({ host, name })));
    if (found.length === 0 && role !== "web") throw new UsageError(`no role ${role} runs in stack ${stack}: web, or a role of berth:roles`);
    return found;
}

/** `--name value` and `--flag` options (those named, no others) before an optional `--`, and what follows it. */
export function parseOptions<V extends string, F extends string>(argv: string[], names: { values: readonly V[]; flags?: readonly F[] }): {
    options: Partial<Record<V, string> & Record<F, boolean>>; rest: string[];
} {
    const dashes = argv.indexOf("--");
    const options = Object.fromEntries([
        ...names.values.map((name) => [name, { type: "string" as const }]),
        ...(names.flags ?? []).map((name) => [name, { type: "boolean" as const }]),
    ]);
    try {
        const { values } = parseArgs({ args: dashes >= 0 ? argv.slice(0, dashes) : argv, options, strict: true, allowPositionals: false });
        return { options: values as Partial<Record<V, string> & Record<F, boolean>>, rest: dashes >= 0 ? argv.slice(dashes + 1) : [] };
    } catch (err) {
        throw new UsageError((err as Error).message);
    }
}

/** Runs a script's main, printing a UsageError as its message alone. */
export function runMain(main: () => Promise<number | void>): void {
    main().then((code) => process.exit(code ?? 0), (err) => {
        console.error(err instanceof UsageError ? `berth: ${err.message}` : err);
        process.exit(err instanceof UsageError ? 2 : 1);
    });
}
