// Parsers of single config values, each against the grammar of the place it lands (a docker flag, a mount spec, an nginx directive).
import { isIP } from "net";
import { cliEnvironmentClash, cliEnvironmentClashReason } from "../docker/cliEnvironment";
import { ConfigError, ConfigErrors } from "./errors";
import { ConfigSource } from "./types";
import { fillImageName, IMAGE_NAME_PLACEHOLDERS, ImageRegistry, isRepositoryPath, parseImageRef, parseRegistryPrefix } from "../imageReference";

export const NAME = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

export const RESTART = /^(no|always|unless-stopped|on-failure(:[1-9][0-9]*)?)$/;


export const MEMORY_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export function required(source: ConfigSource, key: string): string {
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

/** An IPv4 or IPv6 address of the host, as `docker run -p ADDRESS:port:port` takes it. */
export function parseBindAddress(key: string, value: string): string {
    if (!isIP(value)) {
        throw new ConfigError(key, value, "use an IP address of the Docker host: 127.0.0.1 (that host only), 0.0.0.0 (every interface) or one of its addresses");
    }
    return value;
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
    if (!parseImageRef(value)) {
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

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Pulumi hands object config over as JSON text. */
export function parseJson(key: string, text: string | undefined, fallback: unknown): unknown {
    if (text === undefined || text === "") return fallback;
    try {
        return JSON.parse(text);
    } catch {
        throw new ConfigError(key, text, "use a YAML/JSON object");
    }
}

export function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function parseStringMap(key: string, value: unknown, keyPattern?: RegExp, what = "names"): Record<string, string> {
    if (!isObject(value)) throw new ConfigError(key, value, "use a map of names to text values");
    const result: Record<string, string> = {};
    for (const [name, v] of Object.entries(value)) {
        if (keyPattern && !keyPattern.test(name)) throw new ConfigError(`${key}.${name}`, v, `${what} must match ${keyPattern}`);
        if (typeof v === "object" && v !== null) throw new ConfigError(`${key}.${name}`, v, "use a text, number or boolean value");
        result[name] = String(v);
    }
    return result;
}

/** A container's environment: variable names, and no value that would reach the deploying docker CLI's own settings. */
export function parseEnv(key: string, value: unknown): Record<string, string> {
    const env = parseStringMap(key, value, ENV_NAME, "variable names");
    const clash = cliEnvironmentClash(env);
    if (clash !== undefined) throw new ConfigError(`${key}.${clash}`, "(multi-line value)", cliEnvironmentClashReason(clash));
    return env;
}

export const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?$/;

/** Label namespaces owned by berth (how it finds a stack's objects) and by Docker itself. */
export const RESERVED_LABEL = /^(berth\.|com\.docker\.|io\.docker\.|org\.dockerproject\.)/;

/** `berth:labels`: label keys as `--label key=value` reads them, none in a namespace berth or Docker owns. */
export function parseLabels(key: string, value: unknown): Record<string, string> {
    const labels = parseStringMap(key, value, LABEL_KEY, "label keys (letters, digits, . _ / -)");
    const errors = Object.keys(labels).filter((name) => RESERVED_LABEL.test(name)).map((name) =>
        new ConfigError(`${key}.${name}`, labels[name], "berth.* labels are berth's own (how it finds each stack's objects) and com.docker.*, io.docker.*, org.dockerproject.* Docker's: use your own namespace, e.g. com.example.team"));
    if (errors.length > 0) throw new ConfigErrors(errors);
    return labels;
}

export const LOG_OPTION = /^[a-z0-9][a-z0-9._-]*$/;

/** `berth:logDriver`: a driver or plugin name (`syslog`, `vendor/plugin:tag`); empty: the engine's default. */
export function parseLogDriver(key: string, value: string): string {
    if (value !== "" && !/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)?(:[A-Za-z0-9._-]+)?$/.test(value)) {
        throw new ConfigError(key, value, "use a log driver's name such as json-file, local, syslog, journald, or a plugin's name (vendor/plugin:tag)");
    }
    return value;
}

export function field(value: Record<string, unknown>, name: string): string | undefined {
    const v = value[name];
    return v === undefined || v === null ? undefined : String(v);
}

/**
 * A data path as it lands in a `--mount` spec, which the docker CLI reads as comma-separated key=value pairs:
 * absolute, plain path characters only, no `..`, so no value can add a mount option (`/data,type=bind,source=/`).
 */
export function parseDataPath(key: string, value: string): string {
    const segments = value.split("/").slice(1);
    if (!/^(\/[A-Za-z0-9._@+-]+)+\/?$/.test(value) || segments.some((segment) => segment === ".." || segment === ".")) {
        throw new ConfigError(key, value, "use an absolute path inside the container of letters, digits and . _ @ + - (no commas, =, spaces or .. segments), e.g. /var/lib/app");
    }
    return value;
}

/** nginx's size notation for client_max_body_size. */
export function parseBodySize(key: string, value: string): string {
    if (!/^[0-9]+[kmg]?$/i.test(value)) throw new ConfigError(key, value, "use a size like 512k, 25m or 1g (0: no limit)");
    return value.toLowerCase();
}

export const DOCKER_HOST = /^(unix:\/\/\/.+|tcp:\/\/[^/\s]+|ssh:\/\/[^/\s@]+@?[^/\s]*|npipe:\/\/.+)$/;

/** A DOCKER_HOST the docker CLI speaks (empty: the local default). */
export function parseDockerHost(key: string, value: string): string {
    if (value !== "" && !DOCKER_HOST.test(value)) {
        throw new ConfigError(key, value, "use an engine address the docker CLI speaks: unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host[:port] (empty: the local engine)");
    }
    return value;
}

/** One of a fixed set of words. */
export function parseChoice<T extends string>(key: string, value: string, allowed: readonly T[]): T {
    if (!allowed.includes(value as T)) throw new ConfigError(key, value, `use one of: ${allowed.join(", ")}`);
    return value as T;
}

/** A log file size as Docker's json-file and local drivers take it (`max-size`): a number with k, m or g. */
export function parseLogSize(key: string, value: string): string {
    if (!/^[1-9][0-9]*[kmg]$/.test(value)) {
        throw new ConfigError(key, value, "use a size like 500k, 10m or 1g");
    }
    return value;
}

/** A registry as image names spell it: host[:port], then optionally the namespace path images go under. */
export function parseRegistry(key: string, value: string): ImageRegistry {
    const registry = parseRegistryPrefix(value);
    if (!registry) {
        throw new ConfigError(key, value, "use host[:port][/namespace] as image names spell it, e.g. registry.example.com, 127.0.0.1:5000 or ghcr.io/my-org (no http://; lowercase path components)");
    }
    return registry;
}

/** berth:imageName: the repository path of the app's images under the registry, with {app} and {branch} filled in. */
export function parseImageName(key: string, value: string): string {
    const unknown = [...value.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).filter((name) => !(IMAGE_NAME_PLACEHOLDERS as readonly string[]).includes(name));
    const filled = fillImageName(value, { app: "app", branch: "main" });
    if (unknown.length > 0 || !value.includes("{branch}") || !isRepositoryPath(filled)) {
        throw new ConfigError(key, value, `use a repository path with {branch} in it (each branch's images apart), and {app} where wanted, e.g. {app}/{branch} or {app}-{branch}${unknown.length > 0 ? ` (unknown: ${unknown.map((n) => `{${n}}`).join(", ")})` : ""}`);
    }
    return value;
}
