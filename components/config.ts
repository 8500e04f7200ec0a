/**
 * Stack configuration: parsed and validated in pure functions before any resource exists, so bad input fails
 * `pulumi preview` with the key, the value and what is allowed, and changes nothing.
 * Defaults live in Pulumi.yaml's config schema, the one place users read them.
 */

export class ConfigError extends Error {
    constructor(readonly key: string, readonly value: unknown, allowed: string) {
        super(`invalid config berth:${key} = ${JSON.stringify(value)}: ${allowed}`);
        this.name = "ConfigError";
    }
}

/** Reads one raw config value (a string as Pulumi stores it), or undefined when unset. */
export type ConfigSource = (key: string) => string | undefined;

export interface AppSettings {
    name: string;
    branch: string;
    /** Build context, relative to the project root. */
    context: string;
    replicas: number;
    hostPort: number;
    containerPort: number;
    restart: string;
    memoryBytes: number;
    cpus: number;
}

export interface BerthSettings {
    dockerHost: string;
    ephemeral: boolean;
    registry: { server: string; username: string };
    app: AppSettings;
    redisImage: string;
    postgresImage: string;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
const RESTART = /^(no|always|unless-stopped|on-failure(:[1-9][0-9]*)?)$/;
// [registry[:port]/]path[:tag][@sha256:64hex], the grammar of `docker pull`.
const IMAGE_REFERENCE = /^(?:[a-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const MEMORY_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function required(source: ConfigSource, key: string): string {
    const value = source(key);
    if (value === undefined || value === "") {
        throw new ConfigError(key, value ?? null, "it is required (set it in Pulumi.<stack>.yaml or Pulumi.yaml's defaults)");
    }
    return value;
}

export function parseName(key: string, value: string): string {
    if (!NAME.test(value)) {
        throw new ConfigError(key, value, "use 1-40 lowercase letters, digits and inner dashes");
    }
    return value;
}

export function parseInteger(key: string, value: string, min: number, max: number): number {
    const n = Number(value);
    if (!/^-?[0-9]+$/.test(value.trim()) || n < min || n > max) {
        throw new ConfigError(key, value, `use a whole number from ${min} to ${max}`);
    }
    return n;
}

export function parsePort(key: string, value: string): number {
    return parseInteger(key, value, 1, 65535);
}

export function parseRestartPolicy(key: string, value: string): string {
    if (!RESTART.test(value)) {
        throw new ConfigError(key, value, "use one of always, unless-stopped, on-failure, on-failure:N (N ≥ 1), no");
    }
    return value;
}

/** Docker's memory notation (`512m`, `1g`, `1073741824`) to bytes; "0" means no limit. */
export function parseMemory(key: string, value: string): number {
    const match = /^([0-9]+)([bkmg])?$/i.exec(value.trim());
    if (!match) {
        throw new ConfigError(key, value, "use a number with an optional unit b, k, m or g, e.g. 512m or 1g (0 = no limit)");
    }
    const bytes = Number(match[1]) * MEMORY_UNITS[(match[2] ?? "b").toLowerCase()];
    if (bytes !== 0 && bytes < 6 * 1024 ** 2) {
        throw new ConfigError(key, value, "Docker needs at least 6m; use 0 for no limit");
    }
    return bytes;
}

export function parseCpus(key: string, value: string): number {
    const n = Number(value);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value.trim()) || n < 0 || n > 1024) {
        throw new ConfigError(key, value, "use a number of CPUs such as 0.5 or 2 (0 = no limit)");
    }
    return n;
}

export function parseImageReference(key: string, value: string): string {
    if (!IMAGE_REFERENCE.test(value)) {
        throw new ConfigError(key, value, "use an image reference like redis:7, registry.example.com/team/app:tag or …@sha256:<64 hex>");
    }
    return value;
}

export function parseBoolean(key: string, value: string): boolean {
    if (value !== "true" && value !== "false") {
        throw new ConfigError(key, value, "use true or false");
    }
    return value === "true";
}

/** The whole stack's settings (secrets are read separately, as Pulumi secrets). */
export function parseSettings(source: ConfigSource): BerthSettings {
    const app: AppSettings = {
        name: parseName("app", required(source, "app")),
        branch: required(source, "branch"),
        context: required(source, "appContext"),
        replicas: parseInteger("replicas", required(source, "replicas"), 1, 20),
        hostPort: parsePort("hostPort", required(source, "hostPort")),
        containerPort: parsePort("containerPort", required(source, "containerPort")),
        restart: parseRestartPolicy("restart", required(source, "restart")),
        memoryBytes: parseMemory("memory", required(source, "memory")),
        cpus: parseCpus("cpus", required(source, "cpus")),
    };
    if (app.replicas > 1 && app.hostPort > 0) {
        // Each replica would need the same host port.
        throw new ConfigError("replicas", app.replicas, `one host port (berth:hostPort ${app.hostPort}) can serve only 1 replica`);
    }
    return {
        dockerHost: source("dockerHost") ?? "",
        ephemeral: parseBoolean("ephemeral", required(source, "ephemeral")),
        registry: { server: required(source, "registry"), username: required(source, "registryUser") },
        app,
        redisImage: parseImageReference("redisImage", required(source, "redisImage")),
        postgresImage: parseImageReference("postgresImage", required(source, "postgresImage")),
    };
}
