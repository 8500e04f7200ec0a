import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { docker, DockerError, DockerHost } from "./cli";
import { cliEnvironmentClash, cliEnvironmentClashReason, fitsEnvFile } from "./cliEnvironment";
import { LABEL } from "../naming";

/** The Pulumi inputs of a resource whose plain inputs are T. */
export type InputsOf<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/**
 * The inputs with their credential-bearing fields (environment values, registry login) made Pulumi secrets, so
 * they are encrypted wherever the engine keeps inputs, whatever the caller passed. (berth's policy pack checks
 * that credentials appear in no other field.)
 */
export function withSecretCredentials<T extends { env?: unknown; registry?: unknown }>(args: T): T {
    return {
        ...args,
        ...(args.env !== undefined ? { env: pulumi.secret(args.env) } : {}),
        ...(args.registry !== undefined ? { registry: pulumi.secret(args.registry) } : {}),
    };
}

/** Canonical JSON: object keys sorted, so the same value always serialises the same way. */
export function canonicalJson(value: unknown): string {
    return JSON.stringify(value, (_key, v) =>
        v && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
            : v,
    );
}

/** The keys whose values differ between the recorded state and the desired inputs. */
export function changedKeys<T extends object>(olds: Partial<T>, news: Partial<T>, keys: readonly (keyof T)[]): string[] {
    return keys.filter((key) => canonicalJson(olds[key] ?? null) !== canonicalJson(news[key] ?? null)).map(String);
}

/** Deleting something already gone is success: a resource removed by hand must not block `destroy`. */
export function ignoreMissing(err: unknown): void {
    if (!(err instanceof DockerError && /no such|not found/i.test(err.stderr))) {
        throw err;
    }
}

/** The running containers on `host` that have `volume` mounted: their names, and the swarm service of each task. */
export async function volumeUsers(host: DockerHost, volume: string): Promise<{ name: string; service: string }[]> {
    const out = await docker(host, ["ps", "--filter", `volume=${volume}`, "--format", `{{.Names}}\t{{.Label "com.docker.swarm.service.name"}}\t{{.Label "${LABEL.role}"}}`]);
    // The backup scheduler mounts a custom service's volume beside it and touches it only with the service paused or stopped.
    return out.split("\n").filter(Boolean).map((line) => line.split("\t")).filter(([, , role]) => role !== "backup").map(([name, service = ""]) => ({ name, service }));
}

/** Refusal to start a second server on a data volume another running container holds. */
export function volumeInUse(volume: string, host: DockerHost, users: { name: string }[]): Error {
    return new Error(`data volume ${volume} on ${host || "the local engine"} is in use by ${users.map((u) => u.name).join(", ")}: two servers must never share one data directory, so berth started no second one and changed nothing there. `
        + "If the stack is moving between berth:orchestrator hosts and swarm, remove its old containers first: npm run pulumi -- destroy --stack <stack> --exclude-protected (data volumes stay), then up (docs/swarm.md).");
}

/** What state keeps of an environment that may hold secrets: a hash, so any change shows and no value leaks. */
export function envHash(env: Record<string, string>): string {
    return crypto.createHash("sha256").update(canonicalJson(env)).digest("hex");
}

/** How an environment reaches `docker create`/`run`: the flags to add, and the docker CLI's own extra environment. */
export interface EnvironmentDelivery {
    flags: string[];
    cliEnv: Record<string, string>;
}

/**
 * Hands `run` the flags that give a container `env` with no value on any command line: one-line values in a
 * private env-file (mode 600, removed afterwards); values an env-file would cut (PEM keys, JSON with newlines) as
 * `--env NAME`, which the docker CLI fills from its own environment and sends to the engine as they are.
 */
export async function withEnvironment<T>(env: Record<string, string>, run: (delivery: EnvironmentDelivery) => Promise<T>): Promise<T> {
    const inFile = Object.entries(env).filter(([, value]) => fitsEnvFile(value));
    const viaCli = Object.entries(env).filter(([, value]) => !fitsEnvFile(value));
    const clash = cliEnvironmentClash(env);
    if (clash) throw new Error(`environment variable ${cliEnvironmentClashReason(clash)}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-env-"));
    const envFile = path.join(dir, "env");
    try {
        fs.writeFileSync(envFile, inFile.map(([k, v]) => `${k}=${v}`).join("\n") + "\n", { mode: 0o600 });
        return await run({
            flags: ["--env-file", envFile, ...viaCli.flatMap(([name]) => ["--env", name])],
            cliEnv: Object.fromEntries(viaCli),
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * Refuses to take over or remove a network or volume that another stack's `berth.stack` label claims (two stacks
 * whose names differ only in `_`, `.` or case give their objects the same Docker names): sharing it would mix two
 * stacks' traffic or data, removing it would destroy the other stack's.
 */
export function refuseOtherStacks(kind: string, name: string, host: DockerHost, found: { Labels?: Record<string, string> | null } | undefined, labels: Record<string, string>, action: string): void {
    const owner = found?.Labels?.[LABEL.stack];
    const mine = labels[LABEL.stack];
    if (owner !== undefined && mine !== undefined && owner !== mine) {
        throw new Error(`${kind} ${name} on ${host || "the local engine"} belongs to stack ${owner}, not ${mine}: berth did not ${action} it. Two stacks whose names differ only in _, . or case share Docker names: use another stack name.`);
    }
}
