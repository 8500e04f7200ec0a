// Host topology: berth:hosts, their keys and addresses, where services run and how a release moves over the hosts.
import * as crypto from "crypto";
import * as fs from "fs";
import { BlockList, isIP } from "net";
import * as path from "path";
import { ConfigError } from "./errors";
import { ServiceSettings, TestHosts } from "./types";
import { parseDockerHost } from "./fields";
import { testHostsDir } from "../cacheLayout";

/** `address:port` as URLs and nginx's `listen` take it (an IPv6 address in brackets). */
export function socketAddress(address: string, port: number): string {
    return `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

/** The address the machine itself uses for a port bound on `bindAddress`: a wildcard's own family's loopback. */
export function loopbackFor(bindAddress: string): string {
    return bindAddress === "0.0.0.0" ? "127.0.0.1" : bindAddress === "::" ? "::1" : bindAddress;
}

/** Where the host itself reaches a port bound on `bindAddress`. */
export function localUrl(bindAddress: string, port: number): string {
    return `http://${socketAddress(loopbackFor(bindAddress), port)}`;
}

/** The engine a service runs on: its `host`, else the stack's first. */
export function serviceHost(service: Pick<ServiceSettings, "host">, hosts: string[]): string {
    return service.host ?? hosts[0];
}

/** `berth:swarmAddressPool`: an IPv4 CIDR of /8 to /24 that holds none of the hosts' addresses (overlays would shadow them). */
export function parseAddressPool(key: string, value: string, hosts: string[]): string {
    const match = /^([0-9]{1,3}(?:\.[0-9]{1,3}){3})\/([0-9]{1,2})$/.exec(value);
    const bits = Number(match?.[2]);
    if (!match || isIP(match[1]) !== 4 || bits < 8 || bits > 24) {
        throw new ConfigError(key, value, "use an IPv4 CIDR from /8 to /24, e.g. 10.240.0.0/16 (Swarm cuts a /24 from it for each overlay network)");
    }
    const pool = new BlockList();
    pool.addSubnet(match[1], bits, "ipv4");
    const inside = hosts.map(engineAddress).find((address) => isIP(address) === 4 && pool.check(address, "ipv4"));
    if (inside !== undefined) {
        throw new ConfigError(key, value, `it holds ${inside}, a host of berth:hosts: overlay networks taken from it would hide the hosts' own network; choose a range none of them is in`);
    }
    return value;
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

/** The registry when berth:registry is unset: the test hosts' own for a stack on them only, else this machine's. */
export function defaultRegistry(hosts: string[], testHosts?: TestHosts): string {
    const onTestHosts = testHosts !== undefined && hosts.every((host) => testHosts.hosts.includes(host));
    return onTestHosts ? testHosts.registry : "127.0.0.1:5000";
}

/** What `npm run hosts -- up` recorded (none: no test hosts here). */
export function readTestHosts(file = path.join(testHostsDir(), "environment.json")): TestHosts | undefined {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as TestHosts;
    } catch {
        return undefined;
    }
}

export const HOST_KEY_TYPES = [
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

export function isLoopback(address: string): boolean {
    return address === "localhost" || address === "::1" || address.startsWith("127.");
}

/** Where clients reach a port bound on `bindAddress` of `host`'s machine. */
export function hostUrl(host: string, bindAddress: string, port: number): string {
    if (!isRemoteEngine(host)) return localUrl(bindAddress, port);
    const wildcard = bindAddress === "0.0.0.0" || bindAddress === "::";
    const address = wildcard ? engineAddress(host) : bindAddress;
    return `http://${socketAddress(address, port)}`;
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
