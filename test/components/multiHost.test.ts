import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parseSettings } from "../../components/config";
import { configWithDefaults, recordResources, Registered } from "./mocks";

const registered: Registered[] = [];

/** Each container's address on its stack network. */
const addresses: Record<string, string> = { "berth-prod-redis": "172.18.0.4", "berth-prod-postgres": "172.18.0.5" };
beforeAll(() => recordResources(registered, { extraOutputs: (type, inputs) => (type.endsWith("DockerContainer") ? { address: addresses[inputs.namePrefix] ?? "172.18.0.9" } : {}) }));

const h1 = "ssh://deploy@10.1.0.11";
const h2 = "ssh://deploy@10.1.0.12";
const context = fs.mkdtempSync(path.join(os.tmpdir(), "berth-app-"));
fs.writeFileSync(path.join(context, "Dockerfile"), "FROM debian:bookworm-slim\n");
/** What this stack sets over Pulumi.yaml's defaults. */
const config = configWithDefaults({
    appContext: context, replicas: 3, hostPort: 80, bindAddress: "0.0.0.0", restart: "always", testCommand: "npm test", healthTimeoutSeconds: 90,
    stopTimeoutSeconds: 15, keepReleases: 2, hosts: [h1, h2], rolloutPauseSeconds: 30, registry: "registry.internal:5000", registryUser: "ci",
    services: { redis: { kind: "redis", image: "registry.internal:5000/berth/redis:7" }, postgres: { kind: "postgres", host: h2 } },
    canary: { percent: 10, seconds: 60, maxErrorRate: 0.01 }, watchSeconds: 30,
});
const secrets: Record<string, string> = { registryPassword: "registry-pw", postgresPassword: "pg-pw", redisPassword: "redis-pw" };

const byType = (suffix: string) => registered.filter((r) => r.type.endsWith(suffix));
const container = (prefix: string) => byType("DockerContainer").filter((c) => c.name.startsWith(prefix)).map((c) => c.inputs);
const resolve = <T>(o: pulumi.Output<T>) => new Promise<T>((r) => o.apply(r));

/** Environment over two hosts: what goes where, and how the hosts reach each other's services. */
describe("Environment on two hosts", () => {
    let urls: string[];
    let hostReleases: Record<string, string>;

    beforeAll(async () => {
        const { Environment } = await import("../../components/environment");
        const env = new Environment("prod", {
            stack: "prod",
            settings: parseSettings(config),
            projectDir: "/",
            secret: (key) => pulumi.secret(secrets[key]),
            checkEngines: async () => [],
            checkNames: async () => [],
            checkImages: async () => [],
        });
        urls = env.urls;
        hostReleases = await resolve(env.hostReleases);
        await resolve(env.containers);
    });

    it("spreads the replicas 2 + 1, a network, a proxy and a host check on each host, one release gate in all", () => {
        expect(container("prod-app").map((c) => c.host)).toEqual([h1, h1, h2]);
        expect(byType("DockerNetwork").map((n) => n.inputs.host)).toEqual([h1, h2]);
        expect(container("prod-proxy").map((c) => c.host)).toEqual([h1, h2]);
        const login = { server: "registry.internal:5000", username: "ci", password: "registry-pw" };
        expect(byType("HostCheck").map(({ inputs }) => [inputs.host, inputs.registry])).toEqual([[h1, login], [h2, login]]);
        // Each host pulls the new image as soon as it is pushed, whatever its turn in the rollout.
        expect(byType("PulledImage").map((p) => p.inputs.host)).toEqual([h1, h2]);
        expect(byType("ReleaseGate")).toHaveLength(1);
        expect(byType("ReleaseGate")[0].inputs.host).toBe(h1);
        expect(byType("RolloutPause").map((p) => p.inputs.seconds)).toEqual([30]);
        expect(urls).toEqual(["http://10.1.0.11:80", "http://10.1.0.12:80"]);
        expect(Object.keys(hostReleases)).toEqual([h1, h2]);
    });

    it("builds the app and the proxy once, on the engine beside berth, and the hosts pull them by digest with the login", () => {
        expect(byType("DockerImage").map((i) => [i.inputs.host, i.inputs.repository]).sort()).toEqual([
            ["", "registry.internal:5000/berth/proxy"],
            ["", "registry.internal:5000/shop/main"],
        ]);
        for (const c of [...container("prod-app"), ...container("prod-proxy")]) {
            expect(c.image).toMatch(/^registry\.internal:5000\/.*@sha256:b{64}$/);
            expect(c.registry).toEqual({ server: "registry.internal:5000", username: "ci", password: "registry-pw" });
        }
    });

    it("serves services on their host's private address only, through a port of their own on the host's network, Redis with a password", () => {
        const [redis, redisPort] = container("prod-redis");
        const [postgres, postgresPort] = container("prod-postgres");
        expect([redis.host, postgres.host]).toEqual([h1, h2]);
        // Nothing published through Docker's NAT, which a restarting engine rebuilds.
        expect([redis.ports, postgres.ports]).toEqual([[], []]);
        expect([redisPort.host, redisPort.namePrefix, redisPort.networks, redisPort.ports]).toEqual([h1, "berth-prod-redis-port", [{ name: "host", aliases: [] }], []]);
        expect(redisPort.env).toEqual({ BERTH_FORWARD: "10.1.0.11:6379 172.18.0.4:6379" });
        expect(postgresPort.env).toEqual({ BERTH_FORWARD: "10.1.0.12:5432 172.18.0.5:5432" });
        expect(postgresPort.labels).toEqual({ "berth.stack": "prod", "berth.role": "port" });
        expect(postgresPort.image).toMatch(/^registry\.internal:5000\/berth\/proxy@sha256:b{64}$/);
        expect(postgresPort.registry).toEqual({ server: "registry.internal:5000", username: "ci", password: "registry-pw" });
        expect(redis.env).toEqual({ REDIS_PASSWORD: "redis-pw" });
        expect(redis.healthcheck.command).toMatch(/^REDISCLI_AUTH="\$REDIS_PASSWORD" redis-cli ping/);
        expect(redis.registry).toEqual({ server: "registry.internal:5000", username: "ci", password: "registry-pw" });
    });

    it("gives apps a service on their own host by alias, one on another host by its address", () => {
        const [onH1, , onH2] = container("prod-app").map((c) => c.env);
        expect(onH1).toMatchObject({ REDIS_HOST: "redis", REDIS_URL: "redis://:redis-pw@redis:6379", POSTGRES_HOST: "10.1.0.12", POSTGRES_PORT: "5432" });
        expect(onH1.DATABASE_URL).toBe("postgres://app:pg-pw@10.1.0.12:5432/app");
        expect(onH2).toMatchObject({ REDIS_HOST: "10.1.0.11", REDIS_URL: "redis://:redis-pw@10.1.0.11:6379", POSTGRES_HOST: "postgres" });
        expect(onH2.DATABASE_URL).toBe("postgres://app:pg-pw@postgres:5432/app");
    });

    it("watches a release once for all hosts: each host's new-release containers as its replicas run (its environment, no host port), the phases and bounds", () => {
        const [watch] = byType("CanaryRelease");
        expect(byType("CanaryRelease")).toHaveLength(1);
        expect(watch.name).toBe("prod-release-watch");
        expect(watch.inputs.targets.map((t: any) => [t.spec.host, t.replicas, t.spec.namePrefix, t.spec.ports, t.spec.labels["berth.role"]]))
            .toEqual([[h1, 2, "berth-prod-shop-canary", [], "canary"], [h2, 1, "berth-prod-shop-canary", [], "canary"]]);
        const replica = container("prod-app")[0];
        for (const key of ["image", "healthcheck", "stopTimeoutSeconds", "memoryBytes", "networks", "listenPort"]) expect(watch.inputs.targets[0].spec[key]).toEqual(replica[key]);
        expect(watch.inputs.env.map((env: Record<string, string>) => env.DATABASE_URL)).toEqual(["postgres://app:pg-pw@10.1.0.12:5432/app", "postgres://app:pg-pw@postgres:5432/app"]);
        expect(watch.inputs.phases).toEqual([{ percent: 10, seconds: 60 }, { percent: 100, seconds: 30 }]);
        expect(watch.inputs.bounds).toEqual({ maxErrorRate: 0.01, maxP95Ms: 1000, minRequests: 20, tooFewRequests: "hold" });
    });
});
