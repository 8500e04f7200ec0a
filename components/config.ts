import * as crypto from "crypto";
import * as fs from "fs";
import { isIP } from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { cliEnvironmentClash, cliEnvironmentClashReason } from "./docker/cliEnvironment";
import { SWARM_NAME_LIMIT, swarmServiceNames } from "./naming";

/**
 * Stack configuration: parsed and validated in pure functions before any resource exists, so bad input fails
 * `pulumi preview` with the key, the value and what is allowed, and changes nothing.
 * Defaults live in Pulumi.yaml's config schema, the one place users read them.
 */

/** A user's mistake, not a crash: Pulumi prints a RunError as its message, without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly key: string, readonly value: unknown, allowed: string) {
        super(`invalid config berth:${key} = ${describeValue(value)}: ${allowed}`);
        this.name = "ConfigError";
    }
}

/**
 * A config value as errors print it: text, numbers and lists of them as they are; an object by its keys only
 * (`{ kind, env }`), never its nested values, which may hold a password.
 */
export function describeValue(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map((item) => (typeof item === "object" && item !== null ? describeValue(item) : JSON.stringify(item))).join(",")}]`;
    if (typeof value === "object" && value !== null) return `{ ${Object.keys(value).join(", ")} }`;
    return JSON.stringify(value) ?? String(value);
}

/** Reads one raw config value (a string as Pulumi stores it), or undefined when unset. */
export type ConfigSource = (key: string) => string | undefined;

export type ServiceKind = "redis" | "postgres" | "mysql" | "rabbitmq" | "custom";
export const serviceKinds: readonly ServiceKind[] = ["redis", "postgres", "mysql", "rabbitmq", "custom"];

export interface HealthcheckSettings {
    /** Run by the container's shell; exit 0 means healthy. */
    command: string;
    intervalSeconds: number;
    timeoutSeconds: number;
    retries: number;
    startPeriodSeconds: number;
}

export interface ServiceSettings {
    /** The key in berth:services; also the service's DNS alias on the stack network. */
    name: string;
    kind: ServiceKind;
    /** Empty: the kind's official image. */
    image: string;
    /** Published on 127.0.0.1 of the host when > 0 (for debugging); never needed by the app. */
    hostPort: number;
    /** Extra environment for the service's container. */
    env: Record<string, string>;
    /** custom only: port the service listens on, where its data lives, how to tell it is healthy. */
    port: number;
    dataPath: string;
    healthcheck?: HealthcheckSettings;
    /** Memory limit of its container in bytes (`services.<name>.memory`; default per kind); 0: none. */
    memoryBytes?: number;
    /** The engine (one of berth:hosts) that runs it and holds its data; default the first host. */
    host?: string;
}

/** Rotation of the log files of every container berth runs, where its log driver keeps files (json-file, local). */
export interface LogRotation {
    /** Docker's size notation: a file is rotated past it (`10m`, Kamal's default). */
    maxSize: string;
    /** Files kept per container. */
    maxFiles: number;
}

export type AppSource =
    | { kind: "build"; context: string; dockerfile: string; target: string; buildArgs: Record<string, string> }
    /** Deploy an image that already exists (how production runs exactly what staging tested). */
    | { kind: "image"; reference: string };

/** The proxy's edge: HTTPS with the stack's certificate (secrets berth:tlsCertificate/tlsPrivateKey), limits. */
export interface EdgeSettings {
    /** Host port of HTTPS (on bindAddress); 0: none. With HTTPS, plain HTTP on hostPort redirects to it. */
    httpsPort: number;
    /** Send Strict-Transport-Security (one year) on HTTPS answers. */
    hsts: boolean;
    /** Largest request body the proxy passes on, in nginx's notation (`25m`; `0`: no limit). */
    maxBodySize: string;
    /**
     * Idle client connections kept open this long; 0 (the default): one request per connection. A graceful reload
     * (each release) closes idle keep-alive connections, and a client sending on one at that instant sees a reset
     * unless it retries, as browsers do.
     */
    keepAliveSeconds: number;
}

/** A process role besides web (berth:roles): the release's image running another command. */
export interface RoleSettings {
    name: string;
    /** Run by the image's shell, e.g. `node worker.js`. */
    command: string;
    /** The stack's total, spread over its hosts like the web replicas. */
    replicas: number;
    memoryBytes: number;
    cpus: number;
    restart: string;
    /** Absent: the role is gated by staying up upSeconds (the image's HEALTHCHECK is web's). */
    healthcheck?: HealthcheckSettings;
    upSeconds: number;
    stopTimeoutSeconds: number;
}

export interface AppSettings {
    name: string;
    branch: string;
    source: AppSource;
    replicas: number;
    /**
     * With the proxy (the default): the proxy's port, replicas unpublished. Without: replica i (from 0) is published
     * on hostPort+i. 0 publishes nothing.
     */
    hostPort: number;
    /** Host address those ports listen on: 127.0.0.1 keeps them to the host, 0.0.0.0 serves every interface. */
    bindAddress: string;
    /** A berth proxy in front of the replicas gives zero-downtime replacement. */
    proxy: boolean;
    /** What the proxy serves besides plain HTTP on hostPort. */
    edge: EdgeSettings;
    containerPort: number;
    restart: string;
    memoryBytes: number;
    cpus: number;
    env: Record<string, string>;
    labels: Record<string, string>;
    logDriver: string;
    logOptions: Record<string, string>;
    /** Absent: the image's own HEALTHCHECK. */
    healthcheck?: HealthcheckSettings;
    /** Services the app needs healthy before it starts; each gets `<NAME>_URL` in the app's environment. */
    dependsOn: string[];
    /** Run inside each new image, with the services, before any replica changes; empty: no gate. */
    testCommand: string;
    /**
     * Run once per release in a one-off container of the new image with the app's environment, after the release
     * gate and before any replica changes (a database migration); empty: none.
     */
    releaseCommand: string;
    releaseCommandTimeoutSeconds: number;
    /** Names of the app's secret variables (`berth:secretEnv`, a secret object); their values stay Pulumi secrets. */
    secretEnvNames: string[];
    /** How long a new replica may take to become healthy before the release fails. */
    healthTimeoutSeconds: number;
    /** Grace period between SIGTERM and SIGKILL when a replica is stopped: in-flight requests finish in it. */
    stopTimeoutSeconds: number;
    /** Previous releases whose images stay on the engine for rollback. */
    keepReleases: number;
}

/** How a release moves over the hosts: `batchSize` hosts at a time, `pauseSeconds` between batches. */
export interface RolloutSettings {
    batchSize: number;
    pauseSeconds: number;
}

/** What runs the stack's containers: berth on each host, or Docker Swarm over the hosts as one cluster. */
export type Orchestrator = "hosts" | "swarm";

export interface SwarmSettings {
    /** The first `managers` hosts are managers (the first forms the cluster); the rest are workers. */
    managers: number;
    /** dnsrr: the service name resolves to its tasks (works without IPVS); vip: one virtual IP balanced by IPVS. */
    endpointMode: "dnsrr" | "vip";
    /** How long each updated task is watched for failure; 0: the healthcheck's start period + retries × interval + 5 s. */
    monitorSeconds: number;
    /** Where Swarm takes overlay subnets from (a CIDR): must not hold the hosts' own addresses. */
    addressPool: string;
}

export interface BerthSettings {
    /** Engine addresses the stack runs on (`""`: the local engine); never empty. */
    hosts: string[];
    orchestrator: Orchestrator;
    swarm: SwarmSettings;
    rollout: RolloutSettings;
    logRotation: LogRotation;
    ephemeral: boolean;
    registry: { server: string; username: string };
    /** known_hosts lines the stack carries for its ssh:// hosts (checked besides the user's own known_hosts). */
    knownHosts: string[];
    app: AppSettings;
    roles: RoleSettings[];
    services: ServiceSettings[];
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

/** An IPv4 or IPv6 address of the host, as `docker run -p ADDRESS:port:port` takes it. */
export function parseBindAddress(key: string, value: string): string {
    if (!isIP(value)) {
        throw new ConfigError(key, value, "use an IP address of the Docker host: 127.0.0.1 (that host only), 0.0.0.0 (every interface) or one of its addresses");
    }
    return value;
}

/** Where the host itself reaches a port bound on `bindAddress`. */
export function localUrl(bindAddress: string, port: number): string {
    const host = bindAddress === "0.0.0.0" ? "127.0.0.1" : bindAddress === "::" ? "[::1]" : isIP(bindAddress) === 6 ? `[${bindAddress}]` : bindAddress;
    return `http://${host}:${port}`;
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

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Pulumi hands object config over as JSON text. */
function parseJson(key: string, text: string | undefined, fallback: unknown): unknown {
    if (text === undefined || text === "") return fallback;
    try {
        return JSON.parse(text);
    } catch {
        throw new ConfigError(key, text, "use a YAML/JSON object");
    }
}

function isObject(value: unknown): value is Record<string, unknown> {
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

const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?$/;
/** Label namespaces owned by berth (how it finds a stack's objects) and by Docker itself. */
const RESERVED_LABEL = /^(berth\.|com\.docker\.|io\.docker\.|org\.dockerproject\.)/;

/** `berth:labels`: label keys as `--label key=value` reads them, none in a namespace berth or Docker owns. */
export function parseLabels(key: string, value: unknown): Record<string, string> {
    const labels = parseStringMap(key, value, LABEL_KEY, "label keys (letters, digits, . _ / -)");
    const errors = Object.keys(labels).filter((name) => RESERVED_LABEL.test(name)).map((name) =>
        new ConfigError(`${key}.${name}`, labels[name], "berth.* labels are berth's own (how it finds each stack's objects) and com.docker.*, io.docker.*, org.dockerproject.* Docker's: use your own namespace, e.g. com.example.team"));
    if (errors.length > 0) throw new ConfigErrors(errors);
    return labels;
}

const LOG_OPTION = /^[a-z0-9][a-z0-9._-]*$/;

/** `berth:logDriver`: a driver or plugin name (`syslog`, `vendor/plugin:tag`); empty: the engine's default. */
export function parseLogDriver(key: string, value: string): string {
    if (value !== "" && !/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)?(:[A-Za-z0-9._-]+)?$/.test(value)) {
        throw new ConfigError(key, value, "use a log driver's name such as json-file, local, syslog, journald, or a plugin's name (vendor/plugin:tag)");
    }
    return value;
}

function field(value: Record<string, unknown>, name: string): string | undefined {
    const v = value[name];
    return v === undefined || v === null ? undefined : String(v);
}

const HEALTHCHECK_FIELDS = ["command", "intervalSeconds", "timeoutSeconds", "retries", "startPeriodSeconds"];
const SERVICE_FIELDS = ["kind", "image", "hostPort", "env", "port", "dataPath", "healthcheck", "memory", "host"];

/**
 * Refuses fields an object setting does not have (a typo is silently ignored otherwise), each with the closest known
 * one; every unknown field at once.
 */
export function checkFields(key: string, value: Record<string, unknown>, known: readonly string[], what: string): void {
    const errors = Object.keys(value).filter((name) => !known.includes(name)).map((name) => {
        const closest = closestName(name, known);
        return new ConfigError(`${key}.${name}`, value[name], `not ${what}: use ${known.join(", ")}${closest ? ` (did you mean ${closest}?)` : ""}`);
    });
    if (errors.length > 0) throw new ConfigErrors(errors);
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
        const kind = field(raw, "kind") ?? name;
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

const ROLE_FIELDS = ["command", "replicas", "memory", "cpus", "restart", "healthcheck", "upSeconds", "stopTimeoutSeconds"];

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

/** Every host port the stack publishes must be distinct and in range. */
export function checkHostPorts(settings: { app: Pick<AppSettings, "hostPort" | "proxy" | "replicas" | "edge">; services: ServiceSettings[] }): void {
    const claimed = new Map<number, string>();
    const claim = (port: number, key: string) => {
        if (port > 65535) throw new ConfigError(key, port, "published ports must be at most 65535");
        const holder = claimed.get(port);
        if (holder) throw new ConfigError(key, port, `host port ${port} is already published by ${holder}`);
        claimed.set(port, key);
    };
    for (const service of settings.services) {
        if (service.hostPort > 0) claim(service.hostPort, `services.${service.name}.hostPort`);
    }
    if (settings.app.edge.httpsPort > 0) {
        if (!settings.app.proxy) throw new ConfigError("httpsPort", settings.app.edge.httpsPort, "HTTPS is served by berth's proxy: set berth:proxy to true, or httpsPort to 0");
        claim(settings.app.edge.httpsPort, "httpsPort");
    }
    if (settings.app.hostPort > 0 && settings.app.proxy) {
        claim(settings.app.hostPort, "hostPort");
    } else if (settings.app.hostPort > 0) {
        for (let i = 0; i < settings.app.replicas; i++) {
            claim(settings.app.hostPort + i, i === 0 ? "hostPort" : `hostPort (replica ${i + 1} uses hostPort+${i})`);
        }
    }
}

/** The engine a service runs on: its `host`, else the stack's first. */
export function serviceHost(service: Pick<ServiceSettings, "host">, hosts: string[]): string {
    return service.host ?? hosts[0];
}

/**
 * Names of the secret config keys the stack needs: the registry's (to push a build, or for remote hosts to pull)
 * and each service's password where it has one (Redis too once other hosts reach it over the network).
 */
export function requiredSecrets(settings: BerthSettings): string[] {
    const withPassword: ServiceKind[] = settings.hosts.length > 1 ? ["postgres", "mysql", "rabbitmq", "redis"] : ["postgres", "mysql", "rabbitmq"];
    return [
        ...(settings.app.source.kind === "build" || settings.hosts.some(isRemoteEngine) ? ["registryPassword"] : []),
        ...settings.services.filter((s) => withPassword.includes(s.kind)).map((s) => passwordKey(s.name)),
        ...(settings.app.edge.httpsPort > 0 ? ["tlsCertificate", "tlsPrivateKey"] : []),
    ];
}

/** nginx's size notation for client_max_body_size. */
export function parseBodySize(key: string, value: string): string {
    if (!/^[0-9]+[kmg]?$/i.test(value)) throw new ConfigError(key, value, "use a size like 512k, 25m or 1g (0: no limit)");
    return value.toLowerCase();
}

/**
 * The stack's certificate (PEM, its chain after it) and private key, checked before anything changes: they must
 * parse, belong together and be valid now. Errors describe the certificate, never the key.
 */
export function checkTlsPair(certificate: string, privateKey: string, now = new Date()): { subject: string; validTo: Date } {
    let cert: crypto.X509Certificate;
    try {
        cert = new crypto.X509Certificate(certificate);
    } catch {
        throw new ConfigError("tlsCertificate", "(secret)", "not a PEM certificate (-----BEGIN CERTIFICATE----- …, the server's first, its chain after it)");
    }
    const described = `(secret: certificate for ${cert.subject.replace(/\n/g, ", ")}, valid ${cert.validFrom} to ${cert.validTo})`;
    let key: crypto.KeyObject;
    try {
        key = crypto.createPrivateKey(privateKey);
    } catch {
        throw new ConfigError("tlsPrivateKey", "(secret)", "not an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- …)");
    }
    if (!cert.checkPrivateKey(key)) throw new ConfigError("tlsPrivateKey", "(secret)", `it is not the key of berth:tlsCertificate ${described}`);
    const validTo = new Date(cert.validTo);
    if (validTo <= now) throw new ConfigError("tlsCertificate", described, "it has expired: renew it and set the new one");
    if (new Date(cert.validFrom) > now) throw new ConfigError("tlsCertificate", described, "it is not valid yet");
    return { subject: cert.subject, validTo };
}

export function passwordKey(serviceName: string): string {
    return `${serviceName.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase())}Password`;
}

/** How the stack's config holds a secret berth needs. */
export type SecretState = "missing" | "plaintext" | "secret";

/**
 * How `config` holds `key`. Which keys the engine handed over encrypted is known to Pulumi's SDK but not part of its
 * typed API (runtime/config's isConfigSecret); without it, a set value counts as secret.
 */
export function secretState(config: pulumi.Config, key: string): SecretState {
    if (config.getSecret(key) === undefined) return "missing";
    const isConfigSecret: ((fullKey: string) => boolean) | undefined = require("@pulumi/pulumi/runtime/config").isConfigSecret;
    return !isConfigSecret || isConfigSecret(`${config.name}:${key}`) ? "secret" : "plaintext";
}

/** What to do instead when a key berth reads as plain text was set as a secret. */
const SECRET_ALTERNATIVES: Record<string, string> = {
    buildArgs: "build args are on docker build's command line and in the image's history (docker history) for anyone who pulls it: "
        + "give the app the value at run time as a secret variable (pulumi config set --secret --path 'berth:secretEnv.NAME' value), "
        + "or prepare what needs it before the build (e.g. vendor the private packages into the build context)",
    env: "berth:env is plain text in state and in docker inspect's command history: use berth:secretEnv for secret variables (pulumi config set --secret --path 'berth:secretEnv.NAME' value)",
    services: "a service's password is its own secret key (berth:<service>Password, e.g. berth:postgresPassword), given to the service and the app; other service settings are plain text",
};

/**
 * Keys berth reads as plain text must not be secrets: their value would land unencrypted in state, on a command line
 * or in an image. Refused naming each key and the alternative, never the value.
 */
export function checkNoSecretsInPlainKeys(keys: string[], isSecret: (key: string) => boolean, secretKeys: readonly string[]): void {
    const errors = keys.filter((key) => !secretKeys.includes(key) && isSecret(key)).map((key) =>
        new ConfigError(key, "(secret)", `berth reads this key as plain text, so a secret in it would not stay secret: ${SECRET_ALTERNATIVES[key] ?? "set it without --secret if it is not one"}`));
    if (errors.length > 0) throw new ConfigErrors(errors);
}

/** Whether the engine handed `key` over encrypted (false where the SDK cannot tell). */
export function isSecretConfig(config: pulumi.Config, key: string): boolean {
    const isConfigSecret: ((fullKey: string) => boolean) | undefined = require("@pulumi/pulumi/runtime/config").isConfigSecret;
    return isConfigSecret !== undefined && isConfigSecret(`${config.name}:${key}`);
}

/**
 * Fails naming every missing secret and how to set it, and any set in plaintext (readable in the stack's
 * config file, which lives in git): both before any resource is touched. The value itself is never printed.
 */
export function checkSecrets(settings: BerthSettings, stateOf: (key: string) => SecretState): void {
    const required = requiredSecrets(settings);
    const missing = required.filter((key) => stateOf(key) === "missing");
    if (missing.length > 0) {
        throw new ConfigError(missing[0], null,
            `missing secret${missing.length > 1 ? `s (${missing.map((k) => `berth:${k}`).join(", ")})` : ""}: set with \`pulumi config set --secret berth:${missing[0]}\``);
    }
    const plaintext = required.filter((key) => stateOf(key) === "plaintext");
    if (plaintext.length > 0) {
        throw new ConfigError(plaintext[0], "(hidden)",
            `stored in plaintext in the stack's config; encrypt it with \`pulumi config set --secret berth:${plaintext[0]}\``);
    }
}

/**
 * The names of `berth:secretEnv` (values are never read here): variable names, none also in `berth:env`, and the
 * object set as a secret (`pulumi config set --secret --path 'berth:secretEnv.NAME' value`).
 */
export function checkSecretEnv(names: string[], env: Record<string, string>, state: SecretState): string[] {
    if (names.length === 0) return [];
    if (state === "plaintext") {
        throw new ConfigError("secretEnv", "(hidden)", "stored in plaintext in the stack's config; set each value with `pulumi config set --secret --path 'berth:secretEnv.NAME' value`");
    }
    const invalid = names.find((name) => !ENV_NAME.test(name));
    if (invalid !== undefined) throw new ConfigError("secretEnv", invalid, "variable names are letters, digits and _, not starting with a digit");
    const both = names.find((name) => name in env);
    if (both !== undefined) throw new ConfigError("secretEnv", both, "also set in berth:env: keep each variable in one of them");
    return names;
}

/** Every error a stack's config has, reported together (Pulumi prints a RunError as its message, without a trace). */
export class ConfigErrors extends ConfigError {
    constructor(readonly errors: ConfigError[]) {
        super(errors[0].key, errors[0].value, "");
        this.message = errors.map((e) => e.message).join("\n");
        this.name = "ConfigErrors";
    }
}

/** Collects ConfigErrors instead of stopping at the first, so one run names every problem of a config. */
class ErrorCollector {
    readonly errors: ConfigError[] = [];

    /** `parse()`, or `fallback` (recording the error) when it throws a ConfigError. */
    take<T>(parse: () => T, fallback: T): T {
        try {
            return parse();
        } catch (err) {
            if (err instanceof ConfigErrors) this.errors.push(...err.errors);
            else if (err instanceof ConfigError) this.errors.push(err);
            else throw err;
            return fallback;
        }
    }

    throwIfAny(): void {
        if (this.errors.length > 0) throw new ConfigErrors(this.errors);
    }
}

/**
 * The whole stack's settings, validated; all errors at once (secrets are read separately, as Pulumi secrets).
 * With `projectDir`, the build context and Dockerfile are checked to exist too.
 */
export function parseSettings(source: ConfigSource, projectDir?: string, testHosts?: TestHosts): BerthSettings {
    const c = new ErrorCollector();
    const image = source("image") ?? "";
    const appSource: AppSource = image !== ""
        ? { kind: "image", reference: c.take(() => parseImageReference("image", image), image) }
        : {
            kind: "build",
            context: c.take(() => required(source, "appContext"), ""),
            dockerfile: source("dockerfile") || "Dockerfile",
            target: source("buildTarget") ?? "",
            buildArgs: c.take(() => parseStringMap("buildArgs", parseJson("buildArgs", source("buildArgs"), {}), ENV_NAME, "build arg names"), {}),
        };
    if (projectDir !== undefined) c.take(() => checkBuildSource(appSource, projectDir), undefined);
    const services = c.take(() => parseServices("services", parseJson("services", source("services"), {})), []);
    const dependsOn = c.take(() => parseDependsOn(parseJson("dependsOn", source("dependsOn"), []), services), []);
    const app: AppSettings = {
        name: c.take(() => parseName("app", required(source, "app")), "app"),
        branch: c.take(() => required(source, "branch"), ""),
        source: appSource,
        replicas: c.take(() => parseInteger("replicas", required(source, "replicas"), 1, 20), 1),
        hostPort: c.take(() => parseInteger("hostPort", required(source, "hostPort"), 0, 65535), 0),
        bindAddress: c.take(() => parseBindAddress("bindAddress", source("bindAddress") ?? "127.0.0.1"), "127.0.0.1"),
        proxy: c.take(() => parseBoolean("proxy", required(source, "proxy")), true),
        edge: {
            httpsPort: c.take(() => parseInteger("httpsPort", required(source, "httpsPort"), 0, 65535), 0),
            hsts: c.take(() => parseBoolean("hsts", required(source, "hsts")), false),
            maxBodySize: c.take(() => parseBodySize("maxBodySize", required(source, "maxBodySize")), "25m"),
            keepAliveSeconds: c.take(() => parseInteger("keepAliveSeconds", required(source, "keepAliveSeconds"), 0, 3600), 0),
        },
        containerPort: c.take(() => parsePort("containerPort", required(source, "containerPort")), 1),
        restart: c.take(() => parseRestartPolicy("restart", required(source, "restart")), "no"),
        memoryBytes: c.take(() => parseMemory("memory", required(source, "memory")), 0),
        cpus: c.take(() => parseCpus("cpus", required(source, "cpus")), 0),
        env: c.take(() => parseEnv("env", parseJson("env", source("env"), {})), {}),
        labels: c.take(() => parseLabels("labels", parseJson("labels", source("labels"), {})), {}),
        logDriver: c.take(() => parseLogDriver("logDriver", source("logDriver") ?? ""), ""),
        logOptions: c.take(() => parseStringMap("logOptions", parseJson("logOptions", source("logOptions"), {}), LOG_OPTION, "log option names"), {}),
        healthcheck: c.take(() => parseHealthcheck("healthcheck", parseJson("healthcheck", source("healthcheck"), undefined)), undefined),
        dependsOn,
        testCommand: source("testCommand") ?? "",
        releaseCommand: source("releaseCommand") ?? "",
        releaseCommandTimeoutSeconds: c.take(() => parseInteger("releaseCommandTimeoutSeconds", required(source, "releaseCommandTimeoutSeconds"), 1, 86400), 600),
        secretEnvNames: [],
        healthTimeoutSeconds: c.take(() => parseInteger("healthTimeoutSeconds", required(source, "healthTimeoutSeconds"), 1, 3600), 1),
        stopTimeoutSeconds: c.take(() => parseInteger("stopTimeoutSeconds", required(source, "stopTimeoutSeconds"), 0, 3600), 0),
        keepReleases: c.take(() => parseInteger("keepReleases", required(source, "keepReleases"), 1, 100), 1),
    };
    const roles = c.take(() => parseRoles("roles", parseJson("roles", source("roles"), {}), app), []);
    const hosts = c.take(() => parseHosts("hosts", parseJson("hosts", source("hosts"), [])), [""]);
    c.take(() => checkServiceHosts(services, hosts), undefined);
    const settings: BerthSettings = {
        hosts,
        orchestrator: c.take(() => parseChoice("orchestrator", required(source, "orchestrator"), ["hosts", "swarm"] as const), "hosts"),
        swarm: {
            managers: c.take(() => parseInteger("swarmManagers", required(source, "swarmManagers"), 1, Math.max(1, hosts.length)), 1),
            endpointMode: c.take(() => parseChoice("swarmEndpointMode", required(source, "swarmEndpointMode"), ["dnsrr", "vip"] as const), "dnsrr"),
            monitorSeconds: c.take(() => parseInteger("swarmMonitorSeconds", required(source, "swarmMonitorSeconds"), 0, 3600), 0),
            addressPool: c.take(() => parseAddressPool("swarmAddressPool", required(source, "swarmAddressPool"), hosts), "10.240.0.0/16"),
        },
        rollout: {
            batchSize: c.take(() => parseInteger("rolloutBatchSize", required(source, "rolloutBatchSize"), 1, 100), 1),
            pauseSeconds: c.take(() => parseInteger("rolloutPauseSeconds", required(source, "rolloutPauseSeconds"), 0, 3600), 0),
        },
        logRotation: {
            maxSize: c.take(() => parseLogSize("logMaxSize", required(source, "logMaxSize")), "10m"),
            maxFiles: c.take(() => parseInteger("logMaxFiles", required(source, "logMaxFiles"), 1, 100), 3),
        },
        ephemeral: c.take(() => parseBoolean("ephemeral", required(source, "ephemeral")), false),
        registry: {
            server: c.take(() => parseRegistry("registry", source("registry") || defaultRegistry(hosts, testHosts)), ""),
            username: c.take(() => required(source, "registryUser"), ""),
        },
        knownHosts: c.take(() => parseKnownHosts("knownHosts", parseJson("knownHosts", source("knownHosts"), []), hosts), []),
        app,
        roles,
        services,
    };
    if (c.errors.length === 0) {
        c.take(() => checkHostPorts(settings), undefined);
        // Swarm places the tasks itself: any count runs on any of the nodes.
        if (settings.orchestrator === "hosts") c.take(() => checkReplicasCoverHosts(app.replicas, hosts), undefined);
        c.take(() => checkRegistryReachable(settings.registry.server, hosts), undefined);
        if (settings.orchestrator === "swarm") c.take(() => checkSwarmSettings(settings), undefined);
    }
    c.throwIfAny();
    return settings;
}

function parseDependsOn(value: unknown, services: ServiceSettings[]): string[] {
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

const DOCKER_HOST = /^(unix:\/\/\/.+|tcp:\/\/[^/\s]+|ssh:\/\/[^/\s@]+@?[^/\s]*|npipe:\/\/.+)$/;

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

/** An IPv4 address as a 32-bit number. */
function ipv4Number(address: string): number {
    return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** `berth:swarmAddressPool`: an IPv4 CIDR of /8 to /24 that holds none of the hosts' addresses (overlays would shadow them). */
export function parseAddressPool(key: string, value: string, hosts: string[]): string {
    const match = /^([0-9]{1,3}(?:\.[0-9]{1,3}){3})\/([0-9]{1,2})$/.exec(value);
    const bits = Number(match?.[2]);
    if (!match || isIP(match[1]) !== 4 || bits < 8 || bits > 24) {
        throw new ConfigError(key, value, "use an IPv4 CIDR from /8 to /24, e.g. 10.240.0.0/16 (Swarm cuts a /24 from it for each overlay network)");
    }
    const mask = (~0 << (32 - bits)) >>> 0;
    const base = (ipv4Number(match[1]) & mask) >>> 0;
    const inside = hosts.map(engineAddress).find((address) => isIP(address) === 4 && ((ipv4Number(address) & mask) >>> 0) === base);
    if (inside !== undefined) {
        throw new ConfigError(key, value, `it holds ${inside}, a host of berth:hosts: overlay networks taken from it would hide the hosts' own network; choose a range none of them is in`);
    }
    return value;
}

/** What berth does not (yet) do on a swarm, refused before anything is touched rather than half done. */
export function checkSwarmSettings(settings: Pick<BerthSettings, "app" | "services">): void {
    if (settings.app.edge.httpsPort > 0) {
        throw new ConfigError("httpsPort", settings.app.edge.httpsPort, "HTTPS is served by the proxy of berth:orchestrator hosts only so far: set 0 with swarm, or terminate TLS in front of the cluster");
    }
    if (settings.app.hostPort > 0 && !settings.app.proxy) {
        throw new ConfigError("proxy", false, "with swarm the app is published through berth's proxy (a global service on hostPort): set true");
    }
    const published = settings.services.find((service) => service.hostPort > 0);
    if (published) {
        throw new ConfigError(`services.${published.name}.hostPort`, published.hostPort, "with swarm, services are reached on the stack's overlay network only: remove hostPort");
    }
}

/** Every Swarm service name the stack would declare fits a DNS label, checked before web or anything else moves. */
export function checkSwarmNames(stack: string, settings: Pick<BerthSettings, "app" | "roles" | "services">): void {
    const names = swarmServiceNames(stack, settings.app.name, settings.roles.map((r) => r.name), settings.services.map((s) => s.name));
    const errors = names.filter(({ name }) => name.length > SWARM_NAME_LIMIT).map(({ key, name }) =>
        new ConfigError(key, name, `on a swarm this stack's service would be named ${name} (${name.length} characters), and Swarm allows ${SWARM_NAME_LIMIT}: use a shorter name here or a shorter stack name`));
    if (errors.length > 0) throw new ConfigErrors(errors);
}

/** `berth:hosts`: distinct engine addresses; an empty list is the local engine alone. */
export function parseHosts(key: string, value: unknown): string[] {
    if (!Array.isArray(value) || value.some((h) => typeof h !== "string")) {
        throw new ConfigError(key, value, "use a list of engine addresses, e.g. [ssh://deploy@10.1.0.11, ssh://deploy@10.1.0.12] (empty: the local engine)");
    }
    const hosts = (value as string[]).map((host, i) => parseDockerHost(`${key}[${i}]`, host.trim()));
    const repeated = hosts.find((host, i) => hosts.indexOf(host) !== i);
    if (repeated !== undefined) throw new ConfigError(key, repeated, "each host once: it is listed twice");
    if (hosts.length > 1 && hosts.some((host) => !isRemoteEngine(host))) {
        throw new ConfigError(key, hosts.find((host) => !isRemoteEngine(host)), "with several hosts each must be reachable from the others: use ssh://user@address or tcp://address:port");
    }
    return hosts.length > 0 ? hosts : [""];
}

/** The test hosts `npm run hosts` made on this machine, and the registry they pull from (scripts/hosts.sh). */
export interface TestHosts {
    hosts: string[];
    registry: string;
}

/** The registry when berth:registry is unset: the test hosts' own for a stack on them only, else this machine's. */
export function defaultRegistry(hosts: string[], testHosts?: TestHosts): string {
    const onTestHosts = testHosts !== undefined && hosts.every((host) => testHosts.hosts.includes(host));
    return onTestHosts ? testHosts.registry : "127.0.0.1:5000";
}

/** What `npm run hosts -- up` recorded (none: no test hosts here). */
export function readTestHosts(file = path.join(process.env.BERTH_CACHE ?? path.join(os.homedir(), ".cache", "berth"), "hosts", "environment.json")): TestHosts | undefined {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as TestHosts;
    } catch {
        return undefined;
    }
}

const HOST_KEY_TYPES = [
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
];

/** How known_hosts names an ssh:// engine's machine: `address`, or `[address]:port` off port 22. */
export function knownHostsName(host: string): string {
    const port = /^ssh:\/\/(?:[^@/]*@)?(?:\[[^\]]+\]|[^:/]+):([0-9]+)/.exec(host)?.[1];
    return port && port !== "22" ? `[${engineAddress(host)}]:${port}` : engineAddress(host);
}

/** Whether a hashed known_hosts name (`|1|<salt>|<hash>`, as `ssh-keygen -H` writes it) is `name`: HMAC-SHA1 of it keyed by the salt. */
export function hashedHostMatches(hashed: string, name: string): boolean {
    const [, kind, salt, hash] = hashed.split("|");
    if (kind !== "1" || !salt || !hash) return false;
    return crypto.createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
}

/**
 * `berth:knownHosts`: the stack's hosts' public keys as ssh-keyscan prints them (`<host> <type> <base64>`), so a
 * fresh CI machine checks them with nothing but the stack's config. Each names a host of berth:hosts.
 */
export function parseKnownHosts(key: string, value: unknown, hosts: string[]): string[] {
    if (!Array.isArray(value) || value.some((line) => typeof line !== "string")) {
        throw new ConfigError(key, value, 'use a list of known_hosts lines, e.g. ["10.1.0.11 ssh-ed25519 AAAAC3Nza…"] (ssh-keyscan -t ed25519 <host> prints them)');
    }
    const names = hosts.filter((host) => host.startsWith("ssh://")).map(knownHostsName);
    return (value as string[]).map((line, i) => {
        const [patterns = "", type = "", blob = ""] = line.trim().split(/\s+/);
        if (!HOST_KEY_TYPES.includes(type) || blob === "") {
            throw new ConfigError(`${key}[${i}]`, line, `use "<host> <key type> <base64 key>" as ssh-keyscan prints it; key types: ${HOST_KEY_TYPES.join(", ")}`);
        }
        const decoded = Buffer.from(blob, "base64");
        const wireType = decoded.length > 4 ? decoded.subarray(4, 4 + decoded.readUInt32BE(0)).toString("latin1") : "";
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || wireType !== type) {
            throw new ConfigError(`${key}[${i}]`, blob, `not a ${type} public key in base64: copy the whole line ssh-keyscan prints`);
        }
        if (patterns.startsWith("|") && !names.some((name) => hashedHostMatches(patterns, name))) {
            throw new ConfigError(`${key}[${i}]`, patterns, `this hashed name is none of berth:hosts' ssh:// hosts (${names.join(", ") || "berth:hosts has none"}): a stack carries keys for its own hosts only`);
        }
        const unknown = patterns.startsWith("|") ? undefined : patterns.split(",").find((name) => !names.includes(name));
        if (unknown !== undefined) {
            throw new ConfigError(`${key}[${i}]`, unknown, `name an ssh:// host of berth:hosts as known_hosts writes it (${names.join(", ") || "berth:hosts has none"})`);
        }
        return `${patterns} ${type} ${blob}`;
    });
}

/** Whether an engine address names another machine (ssh://, tcp:// to a non-loopback address). */
export function isRemoteEngine(host: string): boolean {
    return /^(ssh|tcp):\/\//.test(host) && !isLoopback(engineAddress(host));
}

/** The machine an engine address names (`ssh://deploy@10.1.0.11:2222` → `10.1.0.11`); local engines: 127.0.0.1. */
export function engineAddress(host: string): string {
    const match = /^(?:ssh|tcp):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)/.exec(host);
    return match ? match[1].replace(/^\[|\]$/g, "") : "127.0.0.1";
}

function isLoopback(address: string): boolean {
    return address === "localhost" || address === "::1" || address.startsWith("127.");
}

/** Where clients reach a port bound on `bindAddress` of `host`'s machine. */
export function hostUrl(host: string, bindAddress: string, port: number): string {
    if (!isRemoteEngine(host)) return localUrl(bindAddress, port);
    const wildcard = bindAddress === "0.0.0.0" || bindAddress === "::";
    const address = wildcard ? engineAddress(host) : bindAddress;
    return `http://${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

/** `total` replicas spread evenly over `hostCount` hosts, the first hosts taking the remainder. */
export function replicasPerHost(total: number, hostCount: number): number[] {
    return Array.from({ length: hostCount }, (_, i) => Math.floor(total / hostCount) + (i < total % hostCount ? 1 : 0));
}

/** Host indexes in rollout order, `batchSize` at a time. */
export function rolloutBatches(hostCount: number, batchSize: number): number[][] {
    const batches: number[][] = [];
    for (let start = 0; start < hostCount; start += batchSize) {
        batches.push(Array.from({ length: Math.min(batchSize, hostCount - start) }, (_, i) => start + i));
    }
    return batches;
}

/** Every host serves the app: fewer replicas than hosts would leave one with none behind its proxy. */
export function checkReplicasCoverHosts(replicas: number, hosts: string[]): void {
    if (replicas < hosts.length) {
        throw new ConfigError("replicas", replicas, `at least one per host: berth:hosts lists ${hosts.length}`);
    }
}

/** A service's host must be one of the stack's hosts, written the same way. */
export function checkServiceHosts(services: ServiceSettings[], hosts: string[]): void {
    for (const service of services) {
        if (service.host !== undefined && !hosts.includes(service.host)) {
            throw new ConfigError(`services.${service.name}.host`, service.host, `use one of berth:hosts, written the same way (${hosts.map((h) => h || '""').join(", ")})`);
        }
    }
}

/** Other machines pull from the registry: a loopback address would name each of them, not the registry. */
export function checkRegistryReachable(registry: string, hosts: string[]): void {
    if (hosts.some(isRemoteEngine) && isLoopback(registry.replace(/:[0-9]+$/, ""))) {
        throw new ConfigError("registry", registry, "the hosts in berth:hosts pull from it, and on them a loopback address names themselves: use an address they reach");
    }
}

/** A log file size as Docker's json-file and local drivers take it (`max-size`): a number with k, m or g. */
export function parseLogSize(key: string, value: string): string {
    if (!/^[1-9][0-9]*[kmg]$/.test(value)) {
        throw new ConfigError(key, value, "use a size like 500k, 10m or 1g");
    }
    return value;
}

/** A registry as image names spell it: host[:port], no scheme, no path. */
export function parseRegistry(key: string, value: string): string {
    if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$/.test(value)) {
        throw new ConfigError(key, value, "use host[:port] as image names spell it, e.g. registry.example.com or 127.0.0.1:5000 (no http://, no path)");
    }
    return value;
}

/** Keys berth reads; a `berth:` key outside them is a typo (checked with the declared services' password keys). */
export const knownKeys = [
    "app", "branch", "appContext", "image", "dockerfile", "buildTarget", "buildArgs", "replicas", "hostPort", "bindAddress",
    "proxy", "httpsPort", "hsts", "maxBodySize", "keepAliveSeconds", "tlsCertificate", "tlsPrivateKey", "containerPort", "restart", "memory", "cpus", "env", "labels", "logDriver", "logOptions", "healthcheck",
    "testCommand", "releaseCommand", "releaseCommandTimeoutSeconds", "secretEnv", "healthTimeoutSeconds", "stopTimeoutSeconds", "keepReleases", "services", "dependsOn", "roles", "ephemeral",
    "hosts", "knownHosts", "orchestrator", "swarmManagers", "swarmEndpointMode", "swarmMonitorSeconds", "swarmAddressPool", "rolloutBatchSize", "rolloutPauseSeconds", "registry", "registryUser", "registryPassword", "logMaxSize", "logMaxFiles",
] as const;

/** Keys berth reads as Pulumi secrets (besides each service's password key). */
export const SECRET_KEYS = ["registryPassword", "tlsCertificate", "tlsPrivateKey", "secretEnv"] as const;

/** Keys berth once read under another name: refused with the new one, so an old config is migrated, not ignored. */
const renamedKeys: Record<string, string> = {
    dockerHost: "replaced by berth:hosts, a list of engine addresses: write berth:hosts: [<this value>]",
};

/** Edit distance: how many single-character edits turn `a` into `b`. */
function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}

/** The known name closest to `name` (case aside), when it is close enough to be the one meant. */
export function closestName(name: string, known: readonly string[]): string | undefined {
    const distance = (candidate: string) => editDistance(name.toLowerCase(), candidate.toLowerCase());
    const closest = [...known].sort((a, b) => distance(a) - distance(b))[0];
    return closest !== undefined && distance(closest) <= Math.max(2, Math.floor(name.length / 3)) ? closest : undefined;
}

/** Refuses `berth:` keys berth does not read (a typo is silently ignored otherwise), suggesting the closest known one. */
export function checkKnownKeys(keys: string[], services: ServiceSettings[]): void {
    const known = [...knownKeys, ...services.map((s) => passwordKey(s.name))];
    const c = new ErrorCollector();
    for (const key of keys.filter((k) => !known.includes(k))) {
        if (renamedKeys[key]) {
            c.take(() => {
                throw new ConfigError(key, "(set)", renamedKeys[key]);
            }, undefined);
            continue;
        }
        const closest = closestName(key, known);
        const suggestion = closest ? `did you mean berth:${closest}? ` : "";
        c.take(() => {
            throw new ConfigError(key, "(set)", `no such key: ${suggestion}Pulumi.yaml lists every key berth reads`);
        }, undefined);
    }
    c.throwIfAny();
}

/** The build context and its Dockerfile must exist before anything is built (checked at preview). */
export function checkBuildSource(source: AppSource, projectDir: string): void {
    if (source.kind !== "build") return;
    const context = path.resolve(projectDir, source.context);
    if (!fs.existsSync(context) || !fs.statSync(context).isDirectory()) {
        throw new ConfigError("appContext", source.context, `no such directory (${context}): the app's build context is its Dockerfile's directory`);
    }
    if (!fs.existsSync(path.join(context, source.dockerfile))) {
        throw new ConfigError("dockerfile", source.dockerfile, `no such file in the build context ${context}`);
    }
}

/**
 * The stack's whole configuration, checked before any resource exists: every value, unknown keys, the build
 * source, the secrets. All problems are reported at once, as one error without a stack trace.
 */
export function loadSettings(input: {
    source: ConfigSource; keys: string[]; secretState: (key: string) => SecretState; projectDir: string; secretEnvNames?: string[]; testHosts?: TestHosts;
    /** A secret's value, read only to check it (the TLS pair); never stored or printed. */
    secretValue?: (key: string) => string | undefined;
    /** The stack's name, which every Docker name starts with. */
    stack?: string;
    /** Whether a key was set as a secret (keys berth reads as plain text must not be). */
    isSecret?: (key: string) => boolean;
}): BerthSettings {
    const c = new ErrorCollector();
    const settings = c.take(() => parseSettings(input.source, input.projectDir, input.testHosts), undefined);
    if (settings) settings.app.secretEnvNames = c.take(() => checkSecretEnv(input.secretEnvNames ?? [], settings.app.env, input.secretState("secretEnv")), []);
    // Which password keys exist depends on the services, read again here in case another key failed.
    const services = settings?.services ?? new ErrorCollector().take(() => parseServices("services", parseJson("services", input.source("services"), {})), []);
    c.take(() => checkKnownKeys(input.keys, services), undefined);
    if (settings) c.take(() => checkSecrets(settings, input.secretState), undefined);
    if (input.isSecret) c.take(() => checkNoSecretsInPlainKeys(input.keys, input.isSecret!, [...SECRET_KEYS, ...services.map((s) => passwordKey(s.name))]), undefined);
    if (settings && input.stack !== undefined && settings.orchestrator === "swarm") c.take(() => checkSwarmNames(input.stack!, settings), undefined);
    if (settings && settings.app.edge.httpsPort > 0 && c.errors.length === 0 && input.secretValue) {
        c.take(() => checkTlsPair(input.secretValue!("tlsCertificate") ?? "", input.secretValue!("tlsPrivateKey") ?? ""), undefined);
    }
    c.throwIfAny();
    return settings!;
}
