// berth:services, berth:roles and berth:dependsOn: nested objects, every field checked.
import { checkFields, ConfigError } from "./errors";
import { kindOf } from "../serviceKinds";
import { AppSettings, HealthcheckSettings, RoleSettings, ServiceKind, serviceKinds, ServiceSettings } from "./types";
import { field, isObject, parseCpus, parseDataPath, parseEnv, parseImageReference, parseInteger, parseMemory, parsePort, parseRestartPolicy } from "./fields";

export const SERVICE_NAME = /^[a-z][a-z0-9-]{0,30}$/;

export const HEALTHCHECK_FIELDS = ["command", "intervalSeconds", "timeoutSeconds", "retries", "startPeriodSeconds"];

export const SERVICE_FIELDS = ["kind", "image", "hostPort", "env", "port", "dataPath", "healthcheck", "memory", "host"];

export function parseHealthcheck(key: string, value: unknown): HealthcheckSettings | undefined {
    if (value === undefined || value === null || (isObject(value) && Object.keys(value).length === 0)) return undefined;
    if (!isObject(value)) throw new ConfigError(key, value, `use an object with a shell \`command\` (and optional ${HEALTHCHECK_FIELDS.slice(1).join(", ")})`);
    checkFields(key, value, HEALTHCHECK_FIELDS, "a healthcheck setting");
    if (typeof value.command !== "string" || value.command.trim() === "") {
        throw new ConfigError(key, value, `use an object with a shell \`command\` (and optional ${HEALTHCHECK_FIELDS.slice(1).join(", ")})`);
    }
    const seconds = (name: string, fallback: number, min: number) =>
        parseInteger(`${key}.${name}`, field(value, name) ?? String(fallback), min, 3600);
    return {
        command: value.command,
        intervalSeconds: seconds("intervalSeconds", 5, 1),
        timeoutSeconds: seconds("timeoutSeconds", 5, 1),
        retries: seconds("retries", 3, 1),
        startPeriodSeconds: seconds("startPeriodSeconds", 10, 0),
    };
}

export function parseServices(key: string, value: unknown): ServiceSettings[] {
    if (!isObject(value)) throw new ConfigError(key, value, "use a map of service names to { kind, image, … }");
    return Object.entries(value).map(([name, raw]) => {
        const at = `${key}.${name}`;
        if (!SERVICE_NAME.test(name)) throw new ConfigError(at, raw, "service names are 1-31 lowercase letters, digits and dashes, starting with a letter");
        if (!isObject(raw)) throw new ConfigError(at, raw, "use an object like { kind: postgres, image: postgres:15 }");
        checkFields(at, raw, SERVICE_FIELDS, "a service setting");
        const kind = kindOf(name, field(raw, "kind"));
        if (!serviceKinds.includes(kind as ServiceKind)) {
            throw new ConfigError(`${at}.kind`, kind, `use one of ${serviceKinds.join(", ")}`);
        }
        const image = field(raw, "image") ?? "";
        if (image !== "") parseImageReference(`${at}.image`, image);
        if (kind === "custom" && image === "") throw new ConfigError(`${at}.image`, null, "a custom service needs an image");
        const port = field(raw, "port");
        const dataPath = field(raw, "dataPath") ?? "";
        if (kind === "custom" && port === undefined) throw new ConfigError(`${at}.port`, null, "a custom service needs the port it listens on");
        if (kind === "custom" || dataPath !== "") parseDataPath(`${at}.dataPath`, dataPath);
        return {
            name,
            kind: kind as ServiceKind,
            image,
            hostPort: field(raw, "hostPort") === undefined ? 0 : parsePort(`${at}.hostPort`, field(raw, "hostPort")!),
            env: parseEnv(`${at}.env`, raw.env ?? {}),
            port: port === undefined ? 0 : parsePort(`${at}.port`, port),
            dataPath,
            healthcheck: parseHealthcheck(`${at}.healthcheck`, raw.healthcheck),
            ...(field(raw, "memory") !== undefined ? { memoryBytes: parseMemory(`${at}.memory`, field(raw, "memory")!) } : {}),
            ...(field(raw, "host") !== undefined ? { host: field(raw, "host")!.trim() } : {}),
        };
    });
}

export const ROLE_FIELDS = ["command", "replicas", "memory", "cpus", "restart", "healthcheck", "upSeconds", "stopTimeoutSeconds"];

/**
 * `berth:roles`: named processes from the app's image besides web, e.g. `{ worker: { command: "node worker.js",
 * replicas: 2 } }`. Limits, restart policy and stop timeout default to the app's.
 */
export function parseRoles(key: string, value: unknown, app: Pick<AppSettings, "memoryBytes" | "cpus" | "restart" | "stopTimeoutSeconds">): RoleSettings[] {
    if (!isObject(value)) throw new ConfigError(key, value, 'use a map of role names to { command, replicas, … }, e.g. { worker: { command: "node worker.js", replicas: 2 } }');
    return Object.entries(value).map(([name, raw]) => {
        const at = `${key}.${name}`;
        if (name === "web") throw new ConfigError(at, raw, "web is the app's own role (berth:replicas, berth:healthcheck, …): give this one another name");
        if (!SERVICE_NAME.test(name)) throw new ConfigError(at, raw, "role names are 1-31 lowercase letters, digits and dashes, starting with a letter");
        if (!isObject(raw)) throw new ConfigError(at, raw, 'use an object like { command: "node worker.js", replicas: 2 }');
        checkFields(at, raw, ROLE_FIELDS, "a role setting");
        const command = field(raw, "command")?.trim() ?? "";
        if (command === "") throw new ConfigError(`${at}.command`, raw.command ?? null, 'a role needs a command, run by the image\'s shell, e.g. "node worker.js"');
        const optional = <T>(name: string, parse: (k: string, v: string) => T, fallback: T): T =>
            field(raw, name) === undefined ? fallback : parse(`${at}.${name}`, field(raw, name)!);
        return {
            name,
            command,
            replicas: optional("replicas", (k, v) => parseInteger(k, v, 1, 20), 1),
            memoryBytes: optional("memory", parseMemory, app.memoryBytes),
            cpus: optional("cpus", parseCpus, app.cpus),
            restart: optional("restart", parseRestartPolicy, app.restart),
            healthcheck: parseHealthcheck(`${at}.healthcheck`, raw.healthcheck),
            upSeconds: optional("upSeconds", (k, v) => parseInteger(k, v, 1, 600), 10),
            stopTimeoutSeconds: optional("stopTimeoutSeconds", (k, v) => parseInteger(k, v, 0, 3600), app.stopTimeoutSeconds),
        };
    });
}

export function parseDependsOn(value: unknown, services: ServiceSettings[]): string[] {
    if (!Array.isArray(value) || value.some((d) => typeof d !== "string")) {
        throw new ConfigError("dependsOn", value, "use a list of service names");
    }
    for (const name of value as string[]) {
        if (!services.some((s) => s.name === name)) {
            throw new ConfigError("dependsOn", name, `no such service in berth:services (declared: ${services.map((s) => s.name).join(", ") || "none"})`);
        }
    }
    return value as string[];
}
