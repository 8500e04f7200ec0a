import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parseSettings } from "../../components/config";
import { configWithDefaults, recordResources, Registered } from "./mocks";

const registered: Registered[] = [];
const secretPaths: string[] = [];

beforeAll(() => recordResources(registered, { onSecret: (where) => secretPaths.push(where) }));

const context = fs.mkdtempSync(path.join(os.tmpdir(), "berth-app-"));
fs.writeFileSync(path.join(context, "Dockerfile"), "FROM debian:bookworm-slim\n");

/** What this stack sets over Pulumi.yaml's defaults. */
const config = configWithDefaults({
    branch: "feature/Login", appContext: context, replicas: 2, hostPort: 18080, proxy: false, restart: "on-failure:5", memory: "128m", cpus: 0.5,
    env: { LOG_LEVEL: "debug" }, labels: { team: "web" }, logDriver: "syslog", logOptions: { tag: "shop" }, testCommand: "npm test",
    healthTimeoutSeconds: 90, stopTimeoutSeconds: 15, keepReleases: 2, logMaxSize: "5m", logMaxFiles: 2,
    services: { redis: { kind: "redis", image: "berth/redis:7" }, postgres: { kind: "postgres", image: "berth/postgres:15" } },
});
const secrets: Record<string, string> = { registryPassword: "registry-pw", postgresPassword: "pg-pw" };

async function deploy() {
    const { Environment } = await import("../../components/environment");
    const env = new Environment("unit", {
        stack: "unit",
        settings: parseSettings(config),
        projectDir: "/",
        secret: (key) => pulumi.secret(secrets[key]),
        checkEngines: async () => [],
        checkNames: async () => [],
        checkImages: async () => [],
    });
    const resolve = <T>(o: pulumi.Output<T>) => new Promise<T>((r) => o.apply(r));
    return { env, imageRef: await resolve(env.imageRef), containers: await resolve(env.containers), previous: await resolve(env.previousImageRef) };
}

const byType = (suffix: string) => registered.filter((r) => r.type.endsWith(suffix));

describe("Environment", () => {
    it("creates exactly the stack's network, two services with volumes, the image and the app", async () => {
        const { imageRef, containers } = await deploy();
        expect(registered.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
            "berth:image:AppImage unit-image",
            "berth:index:Environment unit",
            "berth:network:StackNetwork unit-net",
            "berth:service:AppService unit-app",
            "berth:service:DependencyService unit-postgres",
            "berth:service:DependencyService unit-redis",
            "berth:storage:DataVolume unit-postgres-data",
            "berth:storage:DataVolume unit-redis-data",
            "pulumi-nodejs:dynamic/berth:DockerContainer unit-app-1",
            "pulumi-nodejs:dynamic/berth:DockerContainer unit-app-2",
            "pulumi-nodejs:dynamic/berth:DockerContainer unit-postgres-container",
            "pulumi-nodejs:dynamic/berth:DockerContainer unit-redis-container",
            "pulumi-nodejs:dynamic/berth:DockerImage unit-image-image",
            "pulumi-nodejs:dynamic/berth:DockerNetwork unit-net-network",
            "pulumi-nodejs:dynamic/berth:DockerVolume unit-postgres-data-volume",
            "pulumi-nodejs:dynamic/berth:DockerVolume unit-redis-data-volume",
            "pulumi-nodejs:dynamic/berth:ReleaseGate unit-app-tests",
            "pulumi-nodejs:dynamic/berth:ReleaseHistory unit-releases",
        ]);
        expect(imageRef).toMatch(/^127\.0\.0\.1:5000\/shop\/feature-login@sha256:b{64}$/);
        expect(containers).toEqual(["berth-unit-shop-000000", "berth-unit-shop-000000"]);
    });

    it("names Docker objects per stack and labels them", () => {
        expect(byType("DockerNetwork")[0].inputs).toMatchObject({ name: "berth-unit-net", labels: { "berth.stack": "unit" } });
        expect(byType("DockerVolume").map((v) => v.inputs.name).sort()).toEqual(["berth-unit-postgres-data", "berth-unit-redis-data"]);
    });

    it("runs each replica by digest with its limits, restart policy, log driver, labels and its own host port", () => {
        const replicas = byType("DockerContainer").filter((c) => c.name.startsWith("unit-app-")).map((c) => c.inputs);
        expect(replicas.map((r) => r.ports[0].external)).toEqual([18080, 18081]);
        for (const app of replicas) {
            expect(app.image).toMatch(/@sha256:/);
            expect(app).toMatchObject({
                restart: "on-failure:5",
                memoryBytes: 128 * 1024 ** 2,
                cpus: 0.5,
                logDriver: "syslog",
                logOptions: { tag: "shop" },
                networks: [{ name: "berth-unit-net", aliases: ["shop"] }],
                labels: { team: "web", "berth.stack": "unit", "berth.role": "app", "berth.app": "shop" },
            });
        }
    });

    it("gives every container log rotation and a memory limit: replicas, proxy, services", () => {
        const containers = byType("DockerContainer").map((c) => c.inputs);
        for (const container of containers) {
            expect(container.logRotation).toEqual({ maxSize: "5m", maxFiles: 2 });
            expect(container.memoryBytes).toBeGreaterThan(0);
        }
        const service = (name: string) => byType("DockerContainer").find((c) => c.name === `unit-${name}-container`)!.inputs;
        expect(service("redis").memoryBytes).toBe(256 * 1024 ** 2);
        expect(service("postgres").memoryBytes).toBe(512 * 1024 ** 2);
        expect(byType("ReleaseGate")[0].inputs.logRotation).toEqual({ maxSize: "5m", maxFiles: 2 });
    });

    it("gives the app each dependency's connection settings and DATABASE_URL", () => {
        const app = byType("DockerContainer").find((c) => c.name === "unit-app-1")!.inputs;
        expect(app.env).toEqual({
            PORT: "8080",
            LOG_LEVEL: "debug",
            REDIS_URL: "redis://redis:6379", REDIS_HOST: "redis", REDIS_PORT: "6379",
            POSTGRES_URL: "postgres://app:pg-pw@postgres:5432/app", POSTGRES_HOST: "postgres", POSTGRES_PORT: "5432",
            POSTGRES_USER: "app", POSTGRES_PASSWORD: "pg-pw",
            DATABASE_URL: "postgres://app:pg-pw@postgres:5432/app",
        });
    });

    it("runs the image's tests on the stack network before any replica, with the app's environment", () => {
        const gate = byType("ReleaseGate")[0].inputs;
        expect(gate).toMatchObject({ command: "npm test", network: "berth-unit-net", image: expect.stringMatching(/@sha256:/) });
        expect(gate.env.DATABASE_URL).toBe("postgres://app:pg-pw@postgres:5432/app");
        const app = byType("DockerContainer").find((c) => c.name === "unit-app-1")!.inputs;
        expect(app).toMatchObject({ healthTimeoutSeconds: 90, stopTimeoutSeconds: 15 });
    });

    it("keeps each dependency's data in its volume and waits for it to be healthy", () => {
        const postgres = byType("DockerContainer").find((c) => c.name === "unit-postgres-container")!.inputs;
        expect(postgres.volumes).toEqual([{ source: "berth-unit-postgres-data", target: "/var/lib/postgresql/data", readOnly: false }]);
        expect(postgres.env).toMatchObject({ POSTGRES_USER: "app", POSTGRES_DB: "app", POSTGRES_PASSWORD: "pg-pw" });
        expect(postgres.healthTimeoutSeconds).toBeGreaterThan(0);
        expect(postgres.healthcheck.command).toContain("pg_isready");
    });

    it("records the release for rollback once the replicas are in place, keeping the configured number", () => {
        const history = byType("ReleaseHistory")[0].inputs;
        expect(history).toMatchObject({ stack: "unit", keep: 2, imageRef: expect.stringMatching(/@sha256:/) });
        expect(byType("DockerImage")[0].inputs.labels).toEqual({ "berth.built-by": "unit" });
    });

    it("pushes with the registry login from config", () => {
        const image = byType("DockerImage")[0].inputs;
        expect(image.registry).toEqual({ server: "127.0.0.1:5000", username: "berth", password: "registry-pw" });
        expect(image.repository).toBe("127.0.0.1:5000/shop/feature-login");
    });

    it("passes passwords only as Pulumi secrets", () => {
        expect(secretPaths).toEqual(expect.arrayContaining(["unit-image-image.registry", "unit-postgres-container.env", "unit-app-1.env", "unit-app-2.env"]));
    });
});
