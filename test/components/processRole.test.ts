import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parseSettings } from "../../components/config";
import { selfSignedCertificate } from "../certificates";
import { configWithDefaults, recordResources, Registered } from "./mocks";

const registered: Registered[] = [];
const secretPaths: string[] = [];
beforeAll(() => recordResources(registered, { onSecret: (where) => secretPaths.push(where) }));

const h1 = "ssh://deploy@10.1.0.11";
const h2 = "ssh://deploy@10.1.0.12";
const pair = selfSignedCertificate("shop.test");
const secrets: Record<string, string> = {
    registryPassword: "registry-pw", postgresPassword: "pg-pw", redisPassword: "redis-pw", tlsCertificate: pair.certificate, tlsPrivateKey: pair.privateKey,
};
const byType = (suffix: string) => registered.filter((r) => r.type.endsWith(suffix));
const resolve = <T>(o: pulumi.Output<T>) => new Promise<T>((r) => o.apply(r));

/** Environment with HTTPS and a worker role over two hosts: what the proxy publishes, where the workers go. */
describe("Environment with HTTPS and a worker role", () => {
    let urls: string[];
    let processes: Record<string, string[]>;

    beforeAll(async () => {
        const { Environment } = await import("../../components/environment");
        const env = new Environment("prod", {
            stack: "prod",
            settings: parseSettings(configWithDefaults({
                image: `registry.internal:5000/shop/main@sha256:${"a".repeat(64)}`, replicas: 2, hostPort: 80, bindAddress: "0.0.0.0", httpsPort: 443,
                hsts: true, hosts: [h1, h2], registry: "registry.internal:5000", testCommand: "",
                services: { redis: { kind: "redis", image: "registry.internal:5000/berth/redis:7" }, postgres: { kind: "postgres", image: "registry.internal:5000/berth/postgres:15" } },
                roles: { worker: { command: "node worker.js", replicas: 3, memory: "128m", upSeconds: 5 } },
            })),
            projectDir: "/",
            secret: (key) => pulumi.secret(secrets[key]),
            checkEngines: async () => [],
            checkNames: async () => [],
            checkImages: async () => [],
        });
        urls = env.urls;
        processes = await resolve(env.processes);
        // Each host's proxy registers once that host's roles did (the proxy switches only after them).
        for (let tries = 0; byType("DockerContainer").filter((c) => c.name.startsWith("prod-proxy")).length < 2 && tries < 100; tries++) await new Promise((r) => setTimeout(r, 10));
    });

    it("publishes HTTPS on each host's proxy and serves the stack's certificate, as a secret, through ProxySite", () => {
        expect(urls).toEqual(["https://10.1.0.11:443", "https://10.1.0.12:443"]);
        const proxies = byType("DockerContainer").filter((c) => c.name.startsWith("prod-proxy"));
        expect(proxies.map((p) => [p.inputs.networks, p.inputs.ports, p.inputs.env])).toEqual([1, 2].map(() => [
            [{ name: "host", aliases: [] }], [], { BERTH_LISTEN: "0.0.0.0:80", BERTH_LISTEN_HTTPS: "0.0.0.0:443", BERTH_PROBE: "127.0.0.1/80" },
        ]));
        const sites = byType("ProxySite");
        expect(sites.map((s) => s.inputs.edge)).toEqual([{ httpsPort: 443, hsts: true, maxBodySize: "25m", keepAliveSeconds: 0 }, { httpsPort: 443, hsts: true, maxBodySize: "25m", keepAliveSeconds: 0 }]);
        expect(sites[0].inputs.tls).toEqual({ certificate: pair.certificate, privateKey: pair.privateKey });
        expect(secretPaths).toContain("prod-proxy-site.tls");
    });

    it("spreads the worker's replicas 2 + 1 over the hosts, from the release's image, with the app's environment and their own gate", () => {
        const workers = byType("DockerContainer").filter((c) => c.name.startsWith("prod-role-worker"));
        expect(workers.map((w) => [w.name, w.inputs.host])).toEqual([["prod-role-worker-1", h1], ["prod-role-worker-2", h1], ["prod-role-worker-h2-1", h2]]);
        expect(processes).toEqual({ worker: ["berth-prod-shop-worker-000000", "berth-prod-shop-worker-000000", "berth-prod-shop-worker-000000"] });
        for (const { inputs } of workers) {
            expect(inputs).toMatchObject({
                image: `registry.internal:5000/shop/main@sha256:${"a".repeat(64)}`,
                command: ["/bin/sh", "-c", "exec node worker.js"],
                noHealthcheck: true,
                upSeconds: 5,
                memoryBytes: 128 * 1024 ** 2,
                ports: [],
                labels: { "berth.role": "worker", "berth.process": "worker" },
            });
            expect(Object.keys(inputs.env)).toEqual(expect.arrayContaining(["PORT", "REDIS_URL", "REDIS_PASSWORD", "DATABASE_URL"]));
        }
        expect(secretPaths.filter((p) => p.startsWith("prod-role-worker") && p.endsWith(".env"))).toHaveLength(3);
    });
});
