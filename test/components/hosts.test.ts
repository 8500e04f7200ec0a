import { describe, expect, it } from "vitest";
import { configWithDefaults } from "../../components/config/defaults";
import { execFileSync } from "child_process";
import * as path from "path";
import { cacheDir } from "../../components/cacheLayout";
import {
    checkKnownKeys, checkRegistryReachable, checkReplicasCoverHosts, checkServiceHosts, defaultRegistry, engineAddress, hostUrl, isRemoteEngine,
    knownHostsName, parseHosts, parseKnownHosts, parseSettings, replicasPerHost, requiredSecrets, rolloutBatches,
} from "../../components/config";
import { cliEnvironment, engineHint } from "../../components/docker/cli";
import { movedDataMessage } from "../../components/docker/providers/volume";
import { buildHost } from "../../components/environment";
import { hostScoped } from "../../components/naming";

const h1 = "ssh://deploy@10.1.0.11";
const h2 = "ssh://deploy@10.1.0.12";
const h3 = "ssh://deploy@10.1.0.13:2222";
/** A throw-away ed25519 public key, as ssh-keyscan prints one. */
const ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFfLnxvbO0ke3oP5ySqhPY9D4iauuLS8ypyJjr2CbSpl";

/** The pure parts of berth:hosts: parsing, spreading, ordering, and what a failing host is told. */
describe("berth:hosts", () => {
    it("takes a list of engine addresses; empty is the local engine", () => {
        expect(parseHosts("hosts", [])).toEqual([""]);
        expect(parseHosts("hosts", [h1, h2])).toEqual([h1, h2]);
        expect(parseHosts("hosts", ["unix:///var/run/docker.sock"])).toEqual(["unix:///var/run/docker.sock"]);
    });

    it("refuses what is not a list of distinct addresses, and local engines among several hosts", () => {
        expect(() => parseHosts("hosts", "ssh://deploy@x")).toThrow(/berth:hosts = "ssh:\/\/deploy@x": use a list of engine addresses/);
        expect(() => parseHosts("hosts", ["ftp://x"])).toThrow(/berth:hosts\[0\] = "ftp:\/\/x": use an engine address/);
        expect(() => parseHosts("hosts", [h1, h1])).toThrow(/berth:hosts = "ssh:\/\/deploy@10.1.0.11": each host once/);
        expect(() => parseHosts("hosts", [h1, "unix:///var/run/docker.sock"])).toThrow(/must be reachable from the others/);
    });

    it("tells other machines from the local one, and finds each one's address", () => {
        expect([h1, "tcp://10.0.0.5:2376", "", "unix:///x.sock", "tcp://127.0.0.1:2375", "ssh://me@localhost"].map(isRemoteEngine))
            .toEqual([true, true, false, false, false, false]);
        expect([h1, h3, "tcp://[fd00::5]:2376", "ssh://staging-1.internal", ""].map(engineAddress))
            .toEqual(["10.1.0.11", "10.1.0.13", "fd00::5", "staging-1.internal", "127.0.0.1"]);
    });

    it("carries the hosts' keys as known_hosts lines naming hosts of berth:hosts, as ssh writes their names", () => {
        expect([h1, h3, "ssh://staging-1.internal:22"].map(knownHostsName)).toEqual(["10.1.0.11", "[10.1.0.13]:2222", "staging-1.internal"]);
        expect(parseKnownHosts("knownHosts", [`10.1.0.11 ${ed25519} root@h1`, `[10.1.0.13]:2222 ${ed25519}`, `|1|c2FsdA==|JNpSdzdgQFUAgdVMTzBiKQj2nDw= ${ed25519}`], [h1, h3]))
            .toEqual([`10.1.0.11 ${ed25519}`, `[10.1.0.13]:2222 ${ed25519}`, `|1|c2FsdA==|JNpSdzdgQFUAgdVMTzBiKQj2nDw= ${ed25519}`]);
        expect(() => parseKnownHosts("knownHosts", "10.1.0.11 ssh-ed25519 AAAA", [h1])).toThrow(/berth:knownHosts = "10.1.0.11 ssh-ed25519 AAAA": use a list of known_hosts lines/);
        expect(() => parseKnownHosts("knownHosts", [`10.1.0.12 ${ed25519}`], [h1])).toThrow(/berth:knownHosts\[0\] = "10.1.0.12": name an ssh:\/\/ host of berth:hosts[^]*\(10.1.0.11\)/);
        expect(() => parseKnownHosts("knownHosts", [`10.1.0.13 ${ed25519}`], [h3])).toThrow(/\[10.1.0.13\]:2222/);
        expect(() => parseKnownHosts("knownHosts", ["10.1.0.11 ssh-dss AAAA"], [h1])).toThrow(/berth:knownHosts\[0\] = "10.1.0.11 ssh-dss AAAA": use "<host> <key type> <base64 key>"/);
        expect(() => parseKnownHosts("knownHosts", [`10.1.0.11 ${ed25519.replace("ssh-ed25519", "ssh-rsa")}`], [h1])).toThrow(/not a ssh-rsa public key in base64/);
        expect(() => parseKnownHosts("knownHosts", ["10.1.0.11 ssh-ed25519 not-base64!"], [h1])).toThrow(/not a ssh-ed25519 public key/);
        expect(() => parseKnownHosts("knownHosts", [`10.1.0.11 ${ed25519}`], [""])).toThrow(/berth:hosts has none/);
    });

    it("defaults the registry to the test hosts' own for a stack on test hosts only, else to this machine's", () => {
        const testHosts = { hosts: [h1, h2], registry: "192.168.240.2:5000" };
        expect(defaultRegistry([h1, h2], testHosts)).toBe("192.168.240.2:5000");
        expect(defaultRegistry([h1, "ssh://deploy@10.9.9.9"], testHosts)).toBe("127.0.0.1:5000");
        expect(defaultRegistry([""], testHosts)).toBe("127.0.0.1:5000");
        expect(defaultRegistry([h1], undefined)).toBe("127.0.0.1:5000");
    });

    it("gives each host's URL at its own address when the port listens on every interface", () => {
        expect(hostUrl(h3, "0.0.0.0", 80)).toBe("http://10.1.0.13:80");
        expect(hostUrl(h1, "10.2.0.11", 80)).toBe("http://10.2.0.11:80");
        expect(hostUrl("", "0.0.0.0", 8080)).toBe("http://127.0.0.1:8080");
        expect(hostUrl("tcp://[fd00::5]:2376", "::", 80)).toBe("http://[fd00::5]:80");
    });

    it("spreads replicas evenly, the first hosts taking the remainder", () => {
        expect(replicasPerHost(3, 2)).toEqual([2, 1]);
        expect(replicasPerHost(7, 3)).toEqual([3, 2, 2]);
        expect(replicasPerHost(2, 1)).toEqual([2]);
        expect(() => checkReplicasCoverHosts(2, [h1, h2, h3])).toThrow(/berth:replicas = 2: at least one per host: berth:hosts lists 3/);
    });

    it("rolls out in batches of hosts", () => {
        expect(rolloutBatches(3, 1)).toEqual([[0], [1], [2]]);
        expect(rolloutBatches(5, 2)).toEqual([[0, 1], [2, 3], [4]]);
        expect(rolloutBatches(2, 10)).toEqual([[0, 1]]);
    });

    it("places services on one of the stack's hosts, written the same way", () => {
        expect(() => checkServiceHosts([{ name: "postgres", host: h2 } as any], [h1, h2])).not.toThrow();
        expect(() => checkServiceHosts([{ name: "postgres", host: "ssh://deploy@10.1.0.99" } as any], [h1, h2]))
            .toThrow(/berth:services.postgres.host = "ssh:\/\/deploy@10.1.0.99": use one of berth:hosts/);
    });

    it("refuses a loopback registry for other machines", () => {
        expect(() => checkRegistryReachable("127.0.0.1:5000", [h1])).toThrow(/berth:registry = "127.0.0.1:5000": the hosts in berth:hosts pull from it/);
        expect(() => checkRegistryReachable("localhost:5000", [h1])).toThrow(/loopback/);
        expect(() => checkRegistryReachable("127.0.0.1:5000", [""])).not.toThrow();
        expect(() => checkRegistryReachable("registry.internal:5000", [h1])).not.toThrow();
    });

    it("asks for Redis's password and the registry's once other hosts are involved", () => {
        const settings = parseSettings(configWithDefaults({
            image: "registry.internal:5000/shop/main:abc", replicas: 2, hosts: [h1, h2], registry: "registry.internal:5000", registryUser: "ci",
            services: { redis: { kind: "redis" }, postgres: { kind: "postgres", host: h2 } },
        }));
        expect(settings.hosts).toEqual([h1, h2]);
        expect(settings.services.map((s) => s.host)).toEqual([undefined, h2]);
        expect(requiredSecrets(settings).sort()).toEqual(["postgresPassword", "redisPassword", "registryPassword"]);
        const single = parseSettings(configWithDefaults({
            image: "registry.internal:5000/shop/main:abc", replicas: 2, registry: "127.0.0.1:5000", registryUser: "ci", services: { redis: { kind: "redis" } }, dependsOn: ["redis"],
        }));
        expect(requiredSecrets(single)).toEqual([]);
    });

    it("refuses the old berth:dockerHost, naming its replacement", () => {
        expect(() => checkKnownKeys(["dockerHost"], [])).toThrow(/berth:dockerHost = "\(set\)": replaced by berth:hosts, a list of engine addresses/);
    });

    it("builds on the engine beside berth when any host is another machine, else on the stack's engine", () => {
        expect(buildHost([h1, h2])).toBe("");
        expect(buildHost(["tcp://127.0.0.1:2375"])).toBe("tcp://127.0.0.1:2375");
        expect([0, 1, 2].map((i) => hostScoped("dev-app", i))).toEqual(["dev-app", "dev-app-h2", "dev-app-h3"]);
    });

    it("runs the docker CLI with berth's ssh first on PATH for ssh:// engines only", () => {
        expect(cliEnvironment(h1, {}, { PATH: "/usr/bin" }).PATH).toMatch(/tools\/ssh:\/usr\/bin$/);
        expect(cliEnvironment("", { DOCKER_CONFIG: "/tmp/x" }, { PATH: "/usr/bin" })).toEqual({ PATH: "/usr/bin", DOCKER_CONFIG: "/tmp/x" });
    });

    it("tells a failing host what to do", () => {
        const cases: [string, RegExp][] = [
            ["Host key verification failed.", /10.1.0.11: its SSH host key is not in known_hosts, or has changed[^]*never skips/],
            ["deploy@10.1.0.11: Permission denied (publickey).", /SSH refused the key/],
            ["ssh: connect to host 10.1.0.11 port 22: Connection refused", /no SSH connection/],
            ["bash: line 1: docker: command not found", /no docker CLI on the host/],
            ["write /var/lib/docker/tmp/x: no space left on device", /its disk is full/],
            ['Get "https://10.0.0.2:5000/v2/": x509: certificate signed by unknown authority', /does not trust 10.0.0.2:5000's certificate[^]*\/etc\/docker\/certs.d\/10.0.0.2:5000\/ca.crt/],
            ['Get "https://10.0.0.2:5000/v2/": dial tcp 10.0.0.2:5000: connect: connection refused', /cannot reach 10.0.0.2:5000/],
            // The same failures met by an Engine API request (inspects) rather than by the CLI.
            ["connect ENOENT /var/run/docker.sock", /its Docker engine does not answer/],
            ["connect EACCES /var/run/docker.sock", /may not use Docker/],
        ];
        for (const [stderr, hint] of cases) expect(engineHint(stderr, h1)).toMatch(hint);
        expect(engineHint("Error: No such container: x", h1)).toBeUndefined();
    });

    it("refuses to move a service away from its data, with the steps to move it", () => {
        const message = movedDataMessage("berth-prod-postgres-data", h1, h2);
        expect(message).toMatch(/lives on ssh:\/\/deploy@10.1.0.11; this config would run its service on ssh:\/\/deploy@10.1.0.12, where it would start with an empty volume/);
        expect(message).toMatch(/To move the data/);
        expect(message).toMatch(/To keep the service where its data is/);
    });
});

describe("the cache layout", () => {
    it("is where scripts/lib.sh puts it, for every way of setting it", () => {
        const lib = path.join(__dirname, "..", "..", "scripts", "lib.sh");
        for (const env of [{ HOME: "/home/ci" }, { HOME: "/home/ci", XDG_CACHE_HOME: "/var/cache/ci" }, { HOME: "/home/ci", XDG_CACHE_HOME: "/x", BERTH_CACHE: "/opt/berth" }]) {
            const shell = execFileSync("bash", ["-c", `source ${lib} && printf %s "$BERTH_CACHE"`], { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" });
            expect(cacheDir(env)).toBe(shell);
        }
    });
});
