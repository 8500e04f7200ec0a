import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devServices, docker, dockerObjects, engineHealth, setObjectConfig, ThrowawayStack, throwawayStack } from "./harness";

/** Runs a shell command inside a stack's app container and returns what it printed. */
function inApp(stackName: string, script: string): string {
    const app = dockerObjects(stackName).containers.find((n) => n.includes("-shop-"))!;
    return docker("exec", app, "node", "-e", script);
}

describe("dependency services from config, in an ephemeral stack", () => {
    let env: ThrowawayStack;

    beforeAll(async () => {
        env = await throwawayStack({
            ephemeral: "true",
            hostPort: "0",
            services: {
                ...devServices,
                // Any image can be a service: this one brings its own port, data path and healthcheck.
                sessions: { kind: "custom", image: "berth/redis:7", port: 6379, dataPath: "/data", healthcheck: { command: "redis-cli ping | grep -q PONG" } },
            },
            dependsOn: ["redis", "postgres", "sessions"],
        });
    });
    afterAll(async () => {
        await env?.remove();
    });

    it("runs each service healthy, reachable from the app by name, with its connection settings in the app's env", async () => {
        await env.stack.up({ color: "never" });
        const names = dockerObjects(env.name).containers;
        const sessions = names.find((n) => n.includes("-sessions-"))!;
        expect(await engineHealth(sessions)).toBe("healthy");
        expect(JSON.parse(docker("inspect", sessions))[0].Mounts[0]).toMatchObject({ Name: `berth-${env.name}-sessions-data`, Destination: "/data" });

        const envOfApp = JSON.parse(inApp(env.name, "console.log(JSON.stringify(process.env))"));
        expect(envOfApp).toMatchObject({ SESSIONS_URL: "tcp://sessions:6379", SESSIONS_HOST: "sessions", SESSIONS_PORT: "6379" });
        const pong = inApp(env.name, `
            const s = require("net").connect(6379, "sessions", () => s.write("PING\\r\\n"));
            s.on("data", (d) => { console.log(d.toString().trim()); s.end(); });`);
        expect(pong).toBe("+PONG");
    });

    it("an app without a published port is reachable only on the stack network", async () => {
        const { outputs } = await env.stack.up({ color: "never" });
        expect(outputs.urls.value).toEqual([]);
        const app = dockerObjects(env.name).containers.find((n) => n.includes("-shop-"))!;
        expect(JSON.parse(docker("inspect", app))[0].NetworkSettings.Ports["8080/tcp"]).toBeNull();
    });

    it("a database's image change that cannot run leaves the old server on its data: a missing tag, an image that exits, a major version", async () => {
        const postgres = () => dockerObjects(env.name).containers.find((n) => n.includes("-postgres-"))!;
        const psql = (sql: string) => docker("exec", postgres(), "psql", "-U", "app", "-d", "app", "-tAc", sql);
        const before = postgres();
        psql("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('written before');");
        const withPostgres = async (image: string) => setObjectConfig(env.stack, "services", {
            ...devServices, postgres: { ...devServices.postgres, image },
            sessions: { kind: "custom", image: "berth/redis:7", port: 6379, dataPath: "/data", healthcheck: { command: "redis-cli ping | grep -q PONG" } },
        });
        try {
            await withPostgres("127.0.0.1:5000/berth/postgres:15-no-such-tag");
            await expect(env.stack.up({ color: "never" })).rejects.toThrow(/the new image 127\.0\.0\.1:5000\/berth\/postgres:15-no-such-tag could not be pulled, so berth-.*-postgres-\w+ \(berth\/postgres:15\) runs on as it was/);
            expect(postgres()).toBe(before);
            expect(psql("SELECT note FROM kept")).toBe("written before");

            await withPostgres("debian:bookworm-slim");
            await expect(env.stack.up({ color: "never" })).rejects.toThrow(/debian:bookworm-slim did not start healthy on the data of berth-.*-postgres-\w+, so .* was started again on the same volume/);
            expect(postgres()).toBe(before);
            expect(await engineHealth(before, 60_000)).toBe("healthy");
            expect(psql("SELECT note FROM kept")).toBe("written before");

            await withPostgres("berth/postgres:16");
            await expect(env.stack.preview({ color: "never" })).rejects.toThrow(/berth\/postgres:15 → berth\/postgres:16 changes postgres's major version \(15 → 16\) on an existing data volume/);
        } finally {
            await withPostgres(devServices.postgres.image);
        }
        const again = await env.stack.up({ color: "never" });
        expect(Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
        expect(postgres()).toBe(before);
    });

    it("`destroy` of an ephemeral stack removes its data volumes too", async () => {
        expect(dockerObjects(env.name).volumes).toHaveLength(3);
        await env.stack.destroy({ color: "never" });
        expect(dockerObjects(env.name)).toEqual({ containers: [], networks: [], volumes: [] });
    });
});

describe("MySQL and RabbitMQ presets", () => {
    let env: ThrowawayStack;
    const passwords = { ordersPassword: "orders-pw-1", queuePassword: "queue-pw-1" };

    beforeAll(async () => {
        env = await throwawayStack({
            ephemeral: "true",
            services: { ...devServices, orders: { kind: "mysql", image: "berth/mysql:8" }, queue: { kind: "rabbitmq", image: "berth/rabbitmq:3" } },
            dependsOn: ["redis", "postgres", "orders", "queue"],
        }, passwords);
    });
    afterAll(async () => {
        await env?.remove();
    });

    it("run healthy with their passwords from secret config, and the app gets their URLs", async () => {
        await env.stack.up({ color: "never" });
        const container = (part: string) => dockerObjects(env.name).containers.find((n) => n.includes(`-${part}-`))!;
        for (const name of ["orders", "queue"]) {
            expect(await engineHealth(container(name))).toBe("healthy");
        }
        expect(docker("exec", container("orders"), "mysql", "-h", "127.0.0.1", "-uapp", `-p${passwords.ordersPassword}`, "app", "-N", "-e", "SELECT 40 + 2")).toBe("42");
        const envOfApp = JSON.parse(inApp(env.name, "console.log(JSON.stringify(process.env))"));
        expect(envOfApp).toMatchObject({
            ORDERS_URL: `mysql://app:${passwords.ordersPassword}@orders:3306/app`,
            QUEUE_URL: `amqp://app:${passwords.queuePassword}@queue:5672/`,
            DATABASE_URL: expect.stringMatching(/^postgres:\/\//), // the first SQL dependency
        });
        const amqpHeader = inApp(env.name, `
            const s = require("net").connect(5672, "queue", () => s.write(Buffer.from("AMQP\\x00\\x00\\x09\\x01", "binary")));
            s.on("data", (d) => { console.log(d[0] === 1 ? "connection.start" : "other"); s.destroy(); });`);
        expect(amqpHeader).toBe("connection.start");
    });
});
