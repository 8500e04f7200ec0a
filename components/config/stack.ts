// The whole stack's config: parsed from Pulumi config in one pass, then the rules that span several keys.
import * as fs from "fs";
import * as path from "path";
import { SWARM_NAME_LIMIT, swarmServiceNames } from "../naming";
import { closestName, ConfigError, ConfigErrors, ErrorCollector } from "./errors";
import { AppSettings, AppSource, BerthSettings, ConfigSource, ServiceSettings, TestHosts } from "./types";
import { ENV_NAME, LOG_OPTION, parseBindAddress, parseBodySize, parseBoolean, parseChoice, parseCpus, parseEnv, parseImageName, parseImageReference, parseInteger, parseJson, parseLabels, parseLogDriver, parseLogSize, parseMemory, parseName, parsePort, parseRegistry, parseRestartPolicy, parseStringMap, required } from "./fields";
import { parseDependsOn, parseHealthcheck, parseRoles, parseServices } from "./services";
import { checkNoSecretsInPlainKeys, checkSecretEnv, checkSecrets, checkTlsPair, passwordKey, SECRET_KEYS, SecretState, servesOwnCertificate } from "./secrets";
import { checkCertificateCovers, checkIngress, parseIngress } from "./ingress";
import { parseBackups } from "./backups";
import { parseCanary } from "../canary";
import { checkRegistryReachable, checkReplicasCoverHosts, checkServiceHosts, defaultRegistry, isRemoteEngine, parseAddressPool, parseHosts, parseKnownHosts } from "./hosts";

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
            dockerfile: c.take(() => required(source, "dockerfile"), "Dockerfile"),
            target: source("buildTarget") ?? "",
            buildArgs: c.take(() => parseStringMap("buildArgs", parseJson("buildArgs", source("buildArgs"), {}), ENV_NAME, "build arg names"), {}),
        };
    if (projectDir !== undefined) c.take(() => checkBuildSource(appSource, projectDir), undefined);
    const services = c.take(() => parseServices("services", parseJson("services", required(source, "services"), {})), []);
    const dependsOn = c.take(() => parseDependsOn(parseJson("dependsOn", required(source, "dependsOn"), []), services), []);
    const app: AppSettings = {
        name: c.take(() => parseName("app", required(source, "app")), "app"),
        branch: c.take(() => required(source, "branch"), ""),
        source: appSource,
        replicas: c.take(() => parseInteger("replicas", required(source, "replicas"), 1, 20), 1),
        hostPort: c.take(() => parseInteger("hostPort", required(source, "hostPort"), 0, 65535), 0),
        bindAddress: c.take(() => parseBindAddress("bindAddress", required(source, "bindAddress")), "127.0.0.1"),
        proxy: c.take(() => parseBoolean("proxy", required(source, "proxy")), true),
        edge: {
            httpsPort: c.take(() => parseInteger("httpsPort", required(source, "httpsPort"), 0, 65535), 0),
            hsts: c.take(() => parseBoolean("hsts", required(source, "hsts")), false),
            maxBodySize: c.take(() => parseBodySize("maxBodySize", required(source, "maxBodySize")), "25m"),
            keepAliveSeconds: c.take(() => parseInteger("keepAliveSeconds", required(source, "keepAliveSeconds"), 0, 3600), 0),
        },
        ingress: c.take(() => parseIngress(source), undefined),
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
        canary: c.take(() => parseCanary("canary", parseJson("canary", source("canary"), {}))!, parseCanary("canary", {})!),
        watchSeconds: c.take(() => parseInteger("watchSeconds", required(source, "watchSeconds"), 0, 3600), 0),
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
        backups: c.take(() => parseBackups(source), undefined),
        registry: {
            ...c.take(() => parseRegistry("registry", source("registry") || defaultRegistry(hosts, testHosts)), { server: "", namespace: "" }),
            username: c.take(() => required(source, "registryUser"), ""),
            imageName: c.take(() => parseImageName("imageName", required(source, "imageName")), ""),
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
        c.take(() => checkWatchedRelease(settings.app), undefined);
        if (app.ingress) c.take(() => checkIngress(app.ingress!, app, settings.orchestrator, hosts.length), undefined);
        if (settings.backups && settings.orchestrator === "swarm") c.take(() => {
            throw new ConfigError("backups", "{ repository, … }", "backups run on berth:orchestrator hosts only, for now: a swarm's services are not backed up by berth yet");
        }, undefined);
    }
    c.throwIfAny();
    return settings;
}

/** The key that asks for a watched release (berth:canary with a share, else berth:watchSeconds) and its value; undefined when none is asked. */
function watchedReleaseSetting(app: Pick<AppSettings, "canary" | "watchSeconds">): { key: string; value: unknown } | undefined {
    if (app.canary.percent > 0) return { key: "canary", value: app.canary };
    return app.watchSeconds > 0 ? { key: "watchSeconds", value: app.watchSeconds } : undefined;
}

/** A watched release (berth:canary, berth:watchSeconds) is judged from the requests berth's proxy passes on: it needs one. */
export function checkWatchedRelease(app: Pick<AppSettings, "canary" | "watchSeconds" | "proxy" | "hostPort">): void {
    const watched = watchedReleaseSetting(app);
    if (watched && (!app.proxy || app.hostPort === 0)) {
        throw new ConfigError(watched.key, watched.value, `a watched release is judged from the requests berth's proxy passes on: it needs berth:proxy true and a berth:hostPort (now ${app.proxy}, ${app.hostPort})`);
    }
}

/** What berth does not (yet) do on a swarm, refused before anything is touched rather than half done. */
export function checkSwarmSettings(settings: Pick<BerthSettings, "app" | "services">): void {
    const watched = watchedReleaseSetting(settings.app);
    if (watched) {
        throw new ConfigError(watched.key, watched.value, "a watched release (canary, watch) needs the proxy of berth:orchestrator hosts, which sees every request of each release: a swarm's proxy balances over the service's tasks by DNS and cannot split them by release yet; use Swarm's own rolling update (swarmMonitorSeconds) there");
    }
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

/** Keys berth reads; a `berth:` key outside them is a typo (checked with the declared services' password keys). */
export const knownKeys = [
    "app", "branch", "appContext", "image", "dockerfile", "buildTarget", "buildArgs", "replicas", "hostPort", "bindAddress",
    "proxy", "domains", "pathPrefix", "tls", "acmeServer", "acmeEmail", "acmeCaCertificates", "maintenance", "httpsPort", "hsts", "maxBodySize", "keepAliveSeconds", "tlsCertificate", "tlsPrivateKey", "containerPort", "restart", "memory", "cpus", "env", "labels", "logDriver", "logOptions", "healthcheck",
    "testCommand", "releaseCommand", "releaseCommandTimeoutSeconds", "secretEnv", "healthTimeoutSeconds", "stopTimeoutSeconds", "keepReleases", "canary", "watchSeconds", "services", "dependsOn", "roles", "ephemeral",
    "hosts", "knownHosts", "orchestrator", "swarmManagers", "swarmEndpointMode", "swarmMonitorSeconds", "swarmAddressPool", "rolloutBatchSize", "rolloutPauseSeconds", "registry", "imageName", "registryUser", "registryPassword", "backups", "backupBeforeRelease", "backupPassword", "backupSshKey", "logMaxSize", "logMaxFiles",
] as const;

/** Keys berth once read under another name: refused with the new one, so an old config is migrated, not ignored. */
export const renamedKeys: Record<string, string> = {
    dockerHost: "replaced by berth:hosts, a list of engine addresses: write berth:hosts: [<this value>]",
};

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
    if (settings && servesOwnCertificate(settings.app) && c.errors.length === 0 && input.secretValue) {
        const certificate = input.secretValue("tlsCertificate") ?? "";
        c.take(() => checkTlsPair(certificate, input.secretValue!("tlsPrivateKey") ?? ""), undefined);
        if (settings.app.ingress && c.errors.length === 0) c.take(() => checkCertificateCovers(certificate, settings.app.ingress!.domains), undefined);
    }
    c.throwIfAny();
    return settings!;
}

/**
 * What is allowed but almost surely not meant, said at preview and `up` as warnings (nothing is refused): a remote
 * host whose app port listens on its loopback only (reachable by nothing outside it, and named so in `urls`).
 */
export function settingsWarnings(settings: Pick<BerthSettings, "hosts" | "app">): string[] {
    const { app } = settings;
    const loopback = /^127\./.test(app.bindAddress) || app.bindAddress === "::1";
    const remote = settings.hosts.filter(isRemoteEngine);
    if (!loopback || remote.length === 0 || app.hostPort === 0 || app.ingress) return [];
    return [`berth:bindAddress is ${app.bindAddress}: on ${remote.join(", ")} the app's port ${app.hostPort} listens on that host's loopback only, so nothing outside it reaches the app `
        + `(and the urls output names ${app.bindAddress}). Set berth:bindAddress to 0.0.0.0 (or the host's own address), or serve the app by name on the hosts' front door (berth:domains).`];
}
