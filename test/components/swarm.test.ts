import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { checkSwarmSettings, ConfigError, parseAddressPool, parseChoice, parseSettings } from "../../components/config";
import { membershipProblem } from "../../components/docker/providers/swarmCluster";
import { secretName } from "../../components/docker/providers/swarmSecret";
import {
    ENV_WRAPPER, environmentFile, restartFlags, serviceCreateArgs, serviceUpdateArgs, shellWord, SwarmServiceInputs, SwarmServiceState, taskProcess,
} from "../../components/docker/providers/swarmService";
import { volumeInUse } from "../../components/docker/resource";
import { monitorWindow, swarmProxyConf, updateBatch } from "../../components/swarmApp";
import { configWithDefaults, recordResources, Registered } from "./mocks";

const h1 = "ssh://deploy@10.1.0.11";
const h2 = "ssh://deploy@10.1.0.12";
const h3 = "ssh://deploy@10.1.0.13";

describe("swarm settings", () => {
    it("orchestrator and endpoint mode are words from a fixed set", () => {
        expect(parseChoice("orchestrator", "swarm", ["hosts", "swarm"])).toBe("swarm");
        expect(() => parseChoice("orchestrator", "kubernetes", ["hosts", "swarm"])).toThrow(/berth:orchestrator.*kubernetes.*use one of: hosts, swarm/);
    });

    it.each([
        ["10.240.0.0/16", [h1], undefined],
        ["10.1.0.0/16", [h1, h2], /holds 10\.1\.0\.11, a host of berth:hosts/],
        ["10.0.0.0/8", [h1], /holds 10\.1\.0\.11/],
        ["192.168.0.0/16", [h1], undefined],
        ["10.240.0.0/25", [h1], /IPv4 CIDR from \/8 to \/24/],
        ["10.240.0/16", [h1], /IPv4 CIDR/],
        ["300.1.0.0/16", [h1], /IPv4 CIDR/],
    ])("address pool %s with hosts %j", (pool, hosts, error) => {
        if (error) expect(() => parseAddressPool("swarmAddressPool", pool, hosts)).toThrow(error);
        else expect(parseAddressPool("swarmAddressPool", pool, hosts)).toBe(pool);
    });

    it("refuses, before anything runs, what berth does not do on a swarm", () => {
        const base = parseSettings(configWithDefaults({ hosts: [h1, h2], registry: "registry.internal:5000", orchestrator: "swarm" }));
        expect(() => checkSwarmSettings(base)).not.toThrow();
        expect(() => checkSwarmSettings({ ...base, app: { ...base.app, edge: { ...base.app.edge, httpsPort: 443 } } })).toThrow(/berth:httpsPort/);
        expect(() => checkSwarmSettings({ ...base, app: { ...base.app, proxy: false } })).toThrow(/berth:proxy/);
        expect(() => checkSwarmSettings({ ...base, services: [{ ...base.services[0], hostPort: 6379 }] })).toThrow(/services\.redis\.hostPort/);
        // A watched release needs a proxy that splits by release: said plainly, with what Swarm offers instead.
        expect(() => checkSwarmSettings({ ...base, app: { ...base.app, canary: { ...base.app.canary, percent: 10, seconds: 60 } } }))
            .toThrow(/berth:canary = \{ percent, seconds, [^}]*\}: a watched release \(canary, watch\) needs the proxy of berth:orchestrator hosts[^]*swarmMonitorSeconds/);
        expect(() => checkSwarmSettings({ ...base, app: { ...base.app, watchSeconds: 30 } })).toThrow(/berth:watchSeconds = 30: a watched release/);
        expect(() => parseSettings(configWithDefaults({ hosts: [h1, h2], registry: "registry.internal:5000", orchestrator: "swarm", httpsPort: 443 }))).toThrow(ConfigError);
    });

    it("any replica count on a swarm (it places them); at least one per host otherwise", () => {
        expect(parseSettings(configWithDefaults({ hosts: [h1, h2, h3], registry: "registry.internal:5000", orchestrator: "swarm", replicas: 2 })).app.replicas).toBe(2);
        expect(() => parseSettings(configWithDefaults({ hosts: [h1, h2, h3], registry: "registry.internal:5000", replicas: 2 }))).toThrow(/at least one per host/);
        expect(() => parseSettings(configWithDefaults({ hosts: [h1, h2], registry: "registry.internal:5000", orchestrator: "swarm", swarmManagers: 3 }))).toThrow(/berth:swarmManagers/);
    });

    it("replaces a third of the tasks at a time, at least one", () => {
        expect([1, 2, 3, 4, 6, 12, 20].map(updateBatch)).toEqual([1, 1, 1, 2, 2, 4, 7]);
    });

    it("watches each updated task past the time its healthcheck needs to fail it", () => {
        expect(monitorWindow(0, { command: "x", intervalSeconds: 2, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 10 })).toBe(10 + 3 * 5 + 5);
        expect(monitorWindow(7, { command: "x", intervalSeconds: 2, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 10 })).toBe(7);
        expect(monitorWindow(0, undefined, 12)).toBe(12);
    });
});

describe("a service's environment as a Swarm secret", () => {
    it("is a file the shell sources back to exactly the same values, however they are quoted or broken over lines", () => {
        const env = { PLAIN: "x", QUOTES: `it's "quoted" $HOME \`cmd\``, LINES: "-----BEGIN-----\nabc\n-----END-----", EMPTY: "" };
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "berth-env-test-")), "env");
        fs.writeFileSync(file, environmentFile(env));
        const out = execFileSync("/bin/sh", ["-c", `set -a; . ${file}; set +a; node -e 'const e = process.env; console.log(JSON.stringify({ PLAIN: e.PLAIN, QUOTES: e.QUOTES, LINES: e.LINES, EMPTY: e.EMPTY }))'`], { encoding: "utf8" });
        expect(JSON.parse(out)).toEqual(env);
        expect(environmentFile({})).not.toBe("");
        expect(shellWord("a'b")).toBe(`'a'"'"'b'`);
    });

    it("is named after its content: the same values keep the name, any change makes a new secret", () => {
        expect(secretName("berth-prod-shop-env", "A=1\n")).toBe(secretName("berth-prod-shop-env", "A=1\n"));
        expect(secretName("berth-prod-shop-env", "A=2\n")).not.toBe(secretName("berth-prod-shop-env", "A=1\n"));
        expect(secretName("berth-prod-shop-env", "A=1\n")).toMatch(/^berth-prod-shop-env-[0-9a-f]{12}$/);
    });

    it("wraps the image's own entrypoint and command with the loader; a role's command replaces CMD only", () => {
        const image = { entrypoint: ["docker-entrypoint.sh"], cmd: ["redis-server"] };
        expect(taskProcess({ envSecret: "s", command: [] }, image)).toEqual({ entrypoint: ["/bin/sh"], args: ["-c", ENV_WRAPPER, "berth-env", "docker-entrypoint.sh", "redis-server"] });
        expect(taskProcess({ envSecret: "s", command: ["node", "worker.js"] }, { entrypoint: [], cmd: ["node", "server.js"] }).args.slice(3)).toEqual(["node", "worker.js"]);
        expect(taskProcess({ envSecret: "", command: ["nginx"] }, image)).toEqual({ entrypoint: [], args: ["nginx"] });
    });
});

describe("service commands", () => {
    const inputs: SwarmServiceInputs = {
        host: h1, name: "berth-prod-shop", image: "r/shop@sha256:1", command: [], envSecret: "berth-prod-shop-env-aaa", plainEnv: {},
        labels: { "berth.stack": "prod", "berth.version": "v1" }, network: "berth-prod-net", aliases: ["shop"], mode: "replicated", replicas: 2,
        endpointMode: "dnsrr", ports: [], mounts: [], constraints: [], restart: "on-failure:3", memoryBytes: 268435456, cpus: 0.5,
        healthcheck: { command: "node live.js", intervalSeconds: 1, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 2 }, stopTimeoutSeconds: 20,
        updateOrder: "start-first", monitorSeconds: 5, convergeTimeoutSeconds: 100, logDriver: "", logOptions: { "max-size": "10m" },
    };
    const image = { entrypoint: [], cmd: ["node", "server.js"] };

    it("creates a replicated service: dnsrr on the overlay, start-first updates rolled back on failure, the environment as a secret", () => {
        const args = serviceCreateArgs(inputs, image);
        const flag = (name: string) => args[args.indexOf(name) + 1];
        expect(args.slice(0, 3)).toEqual(["service", "create", "--quiet"]);
        expect(flag("--network")).toBe("name=berth-prod-net,alias=shop");
        expect(flag("--endpoint-mode")).toBe("dnsrr");
        expect(flag("--update-order")).toBe("start-first");
        expect(flag("--update-failure-action")).toBe("rollback");
        expect(flag("--update-monitor")).toBe("5s");
        expect(flag("--secret")).toBe("source=berth-prod-shop-env-aaa,target=berth-env,mode=0444");
        expect(flag("--restart-condition")).toBe("on-failure");
        expect(flag("--restart-max-attempts")).toBe("3");
        // Run beside the task, the healthcheck loads the secret itself.
        expect(flag("--health-cmd")).toBe(`set -a; . /run/secrets/berth-env; set +a; node live.js`);
        expect(args).not.toContain("--env");
        expect(args.slice(args.indexOf("r/shop@sha256:1"))).toEqual(["r/shop@sha256:1", "-c", ENV_WRAPPER, "berth-env", "node", "server.js"]);
    });

    it("creates and updates with exactly these commands: no flag missing, stray or twice", () => {
        const limits = ["--restart-condition", "on-failure", "--restart-max-attempts", "3", "--limit-memory", "268435456", "--limit-cpu", "0.5", "--stop-grace-period", "20s"];
        const health = ["--health-cmd", "set -a; . /run/secrets/berth-env; set +a; node live.js", "--health-interval", "1s", "--health-timeout", "3s", "--health-retries", "3", "--health-start-period", "2s"];
        const rollout = [
            "--update-order", "start-first", "--update-parallelism", "1", "--update-delay", "0s", "--update-failure-action", "rollback", "--update-max-failure-ratio", "0", "--update-monitor", "5s",
            "--rollback-order", "start-first", "--rollback-parallelism", "1", "--rollback-monitor", "5s", "--with-registry-auth", "--detach", "--entrypoint", "/bin/sh",
        ];
        expect(serviceCreateArgs(inputs, image)).toEqual([
            "service", "create", "--quiet", "--name", "berth-prod-shop",
            "--label", "berth.stack=prod", "--label", "berth.version=v1", "--container-label", "berth.stack=prod", "--container-label", "berth.version=v1",
            "--network", "name=berth-prod-net,alias=shop", "--mode", "replicated", "--endpoint-mode", "dnsrr",
            "--secret", "source=berth-prod-shop-env-aaa,target=berth-env,mode=0444", "--log-opt", "max-size=10m", "--replicas", "2",
            ...limits, ...health, ...rollout, "r/shop@sha256:1", "-c", ENV_WRAPPER, "berth-env", "node", "server.js",
        ]);
        const olds: SwarmServiceState = { ...inputs, labels: { ...inputs.labels, old: "1" }, serviceId: "id", runningImage: "r/shop@sha256:1", runningReplicas: 2 };
        expect(serviceUpdateArgs(olds, { ...inputs, image: "r/shop@sha256:2", envSecret: "berth-prod-shop-env-bbb", replicas: 6 }, image)).toEqual([
            "service", "update", "--quiet", "--image", "r/shop@sha256:2",
            "--label-add", "berth.stack=prod", "--label-add", "berth.version=v1", "--label-rm", "old",
            "--container-label-add", "berth.stack=prod", "--container-label-add", "berth.version=v1", "--container-label-rm", "old",
            "--secret-rm", "berth-prod-shop-env-aaa", "--secret-add", "source=berth-prod-shop-env-bbb,target=berth-env,mode=0444", "--replicas", "6",
            ...limits, ...health, ...rollout, "--args", ["-c", ENV_WRAPPER, "berth-env", "node", "server.js"].map(shellWord).join(" "), "berth-prod-shop",
        ]);
    });

    it("publishes a global proxy in host mode (no routing mesh) and pins a service to its volume's node", () => {
        const proxy = serviceCreateArgs({ ...inputs, mode: "global", envSecret: "", ports: [{ target: 80, published: 8080 }], plainEnv: { BERTH_APP_CONF: "x" } }, image);
        expect(proxy).toContain("mode=host,target=80,published=8080,protocol=tcp");
        expect(proxy).not.toContain("--replicas");
        expect(proxy[proxy.indexOf("--env") + 1]).toBe("BERTH_APP_CONF=x");
        const pinned = serviceCreateArgs({ ...inputs, constraints: ["node.id==n3"], mounts: [{ source: "data", target: "/data", readOnly: false }], updateOrder: "stop-first" }, image);
        expect(pinned).toContain("--mount=type=volume,source=data,target=/data");
        expect(pinned[pinned.indexOf("--constraint") + 1]).toBe("node.id==n3");
        expect(pinned[pinned.indexOf("--update-order") + 1]).toBe("stop-first");
    });

    it("updates by restating every setting, swapping the secret and dropping removed labels", () => {
        const olds: SwarmServiceState = { ...inputs, labels: { ...inputs.labels, old: "1" }, serviceId: "id", runningImage: "r/shop@sha256:1", runningReplicas: 2 };
        const args = serviceUpdateArgs(olds, { ...inputs, image: "r/shop@sha256:2", envSecret: "berth-prod-shop-env-bbb", replicas: 6 }, image);
        const flag = (name: string) => args[args.indexOf(name) + 1];
        expect(flag("--image")).toBe("r/shop@sha256:2");
        expect(flag("--replicas")).toBe("6");
        expect(flag("--secret-rm")).toBe("berth-prod-shop-env-aaa");
        expect(flag("--secret-add")).toBe("source=berth-prod-shop-env-bbb,target=berth-env,mode=0444");
        expect(flag("--label-rm")).toBe("old");
        expect(flag("--args")).toBe(["-c", ENV_WRAPPER, "berth-env", "node", "server.js"].map(shellWord).join(" "));
        expect(args.at(-1)).toBe("berth-prod-shop");
        expect(serviceUpdateArgs({ ...olds, labels: inputs.labels }, inputs, image)).not.toContain("--secret-rm");
    });

    it("maps docker run restart policies onto Swarm's", () => {
        expect(restartFlags("no")).toEqual(["--restart-condition", "none"]);
        expect(restartFlags("always")).toEqual(["--restart-condition", "any"]);
        expect(restartFlags("unless-stopped")).toEqual(["--restart-condition", "any"]);
    });

    it("the proxy follows the app's tasks through Swarm's DNS", () => {
        const conf = swarmProxyConf("berth-prod-shop", 8080, { maxBodySize: "25m" });
        expect(conf).toContain("resolver 127.0.0.11 valid=1s");
        expect(conf).toContain("set $berth_app tasks.berth-prod-shop;");
        expect(conf).toContain("proxy_pass http://$berth_app:8080;");
        // Forwarded the same way as on hosts: one file in the image.
        expect(conf).toContain("include /etc/nginx/forwarding.conf;");
    });

    it("refuses a second server on a data volume, naming who holds it and how a stack moves between orchestrators", () => {
        expect(volumeInUse("berth-prod-redis-data", h3, [{ name: "berth-prod-redis.1.abc" }]).message)
            .toMatch(/data volume berth-prod-redis-data on ssh:\/\/deploy@10\.1\.0\.13 is in use by berth-prod-redis\.1\.abc: two servers must never share one data directory[^]*destroy --stack <stack> --exclude-protected/);
    });

    it("joins only nodes that are in no other cluster", () => {
        expect(membershipProblem(h2, { state: "inactive", nodeId: "", isManager: false }, ["n1"])).toBeUndefined();
        expect(membershipProblem(h2, { state: "active", nodeId: "n2", isManager: false }, ["n1", "n2"])).toBeUndefined();
        expect(membershipProblem(h2, { state: "active", nodeId: "x9", isManager: false }, ["n1"])).toMatch(/a node of another swarm/);
        expect(membershipProblem(h2, { state: "error", nodeId: "", isManager: false }, ["n1"])).toMatch(/swarm state "error"/);
    });
});

describe("Environment on a swarm", () => {
    const registered: Registered[] = [];
    const byType = (suffix: string) => registered.filter((r) => r.type.endsWith(suffix));
    let urls: string[];

    beforeAll(async () => {
        recordResources(registered, { extraOutputs: (type) => (type.endsWith("SwarmCluster") ? { clusterId: "c1", nodeIds: ["n1", "n2", "n3"] } : {}) });
        const { Environment } = await import("../../components/environment");
        const env = new Environment("prod", {
            stack: "prod",
            settings: parseSettings(configWithDefaults({
                image: `registry.internal:5000/shop/main@sha256:${"a".repeat(64)}`, replicas: 2, hostPort: 80, hosts: [h1, h2, h3], registry: "registry.internal:5000",
                orchestrator: "swarm", testCommand: "npm test",
                services: { redis: { kind: "redis", image: "registry.internal:5000/berth/redis:7", host: h3 } }, dependsOn: ["redis"],
                roles: { worker: { command: "node worker.js", replicas: 3 } },
            })),
            projectDir: "/",
            secret: (key) => pulumi.secret(`${key}-value`),
            checkEngines: async () => [],
            checkNames: async () => [],
            checkImages: async () => [],
        });
        urls = env.urls;
        // Registered once what they wait on is: the role and the proxy after web, the histories after all of them.
        await new Promise((resolve) => env.releases.apply(resolve));
    });

    it("forms one cluster of the hosts and one overlay network through its manager", () => {
        expect(byType("SwarmCluster").map((c) => c.inputs)).toMatchObject([{ hosts: [h1, h2, h3], managers: 1, addresses: ["10.1.0.11", "10.1.0.12", "10.1.0.13"], addressPool: "10.240.0.0/16" }]);
        expect(byType("DockerNetwork").map((n) => [n.inputs.host, n.inputs.driver])).toEqual([[h1, "overlay"]]);
        expect(byType("DockerContainer")).toEqual([]);
    });

    it("runs web, the role, the proxy and Redis as services declared on the manager; Redis pinned to its node", () => {
        const services: Record<string, any> = Object.fromEntries(byType("SwarmService").map((s) => [s.inputs.name, s.inputs]));
        expect(Object.keys(services).sort()).toEqual(["berth-prod-proxy", "berth-prod-redis", "berth-prod-shop", "berth-prod-shop-worker"]);
        expect(Object.values(services).every((s) => s.host === h1)).toBe(true);
        expect(services["berth-prod-shop"]).toMatchObject({ replicas: 2, mode: "replicated", updateOrder: "start-first", updateParallelism: 1, endpointMode: "dnsrr" });
        expect(services["berth-prod-shop-worker"]).toMatchObject({ replicas: 3, command: ["/bin/sh", "-c", "exec node worker.js"], noHealthcheck: true });
        expect(services["berth-prod-proxy"]).toMatchObject({ mode: "global", ports: [{ target: 80, published: 80 }], updateOrder: "stop-first" });
        expect(services["berth-prod-redis"]).toMatchObject({ constraints: ["node.id==n3"], updateOrder: "stop-first", mounts: [{ source: "berth-prod-redis-data", target: "/data", readOnly: false }] });
        expect(byType("DockerVolume").map((v) => v.inputs.host)).toEqual([h3]);
        expect(urls).toEqual(["http://10.1.0.11:80", "http://10.1.0.12:80", "http://10.1.0.13:80"]);
    });

    it("gives web and the role the app's environment (services' settings included) through one secret, and runs the release gate on the manager", () => {
        const secrets = byType("SwarmSecret");
        const app = secrets.find((s) => s.inputs.namePrefix === "berth-prod-shop-env")!;
        expect(app.inputs.content).toContain("REDIS_URL='redis://:redisPassword-value@redis:6379'");
        expect(secrets.map((s) => s.inputs.namePrefix).sort()).toEqual(["berth-prod-redis-env", "berth-prod-shop-env"]);
        expect(byType("ReleaseGate").map((g) => [g.inputs.host, g.inputs.network])).toEqual([[h1, "berth-prod-net"]]);
    });
});
