import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DockerError } from "./cli";

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

/** What state keeps of an environment that may hold secrets: a hash, so any change shows and no value leaks. */
export function envHash(env: Record<string, string>): string {
    return crypto.createHash("sha256").update(canonicalJson(env)).digest("hex");
}

/** Hands `run` a private env-file (mode 600, removed afterwards): values never appear on a command line. */
export async function withEnvFile<T>(env: Record<string, string>, run: (envFile: string) => Promise<T>): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-env-"));
    const envFile = path.join(dir, "env");
    try {
        fs.writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join("\n") + "\n", { mode: 0o600 });
        return await run(envFile);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
