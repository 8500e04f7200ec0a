import * as net from "net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerObjects, freePort, http, ThrowawayStack, throwawayStack } from "./harness";

/**
 * berth:dockerHost reaches an engine anywhere the docker CLI can (unix://, tcp://, ssh://). Here a TCP endpoint on
 * loopback forwards to the local engine's socket, and counts what goes through it: the whole deployment must.
 */
describe("deploying to the engine at berth:dockerHost", () => {
    let env: ThrowawayStack;
    let forwarder: net.Server;
    let connections = 0;

    beforeAll(async () => {
        const port = await freePort();
        forwarder = net.createServer((client) => {
            connections++;
            const engine = net.connect("/var/run/docker.sock");
            client.pipe(engine).pipe(client);
            const close = () => { client.destroy(); engine.destroy(); };
            client.on("error", close);
            engine.on("error", close);
        });
        await new Promise<void>((resolve) => forwarder.listen(port, "127.0.0.1", resolve));
        env = await throwawayStack({ dockerHost: `tcp://127.0.0.1:${port}` });
    });
    afterAll(async () => {
        await env?.remove();
        forwarder?.close();
    });

    it("builds, runs and answers through that engine's endpoint only", async () => {
        const { outputs } = await env.stack.up({ color: "never" });
        expect(connections).toBeGreaterThan(10);
        expect((await http("GET", `${outputs.url.value}/healthz`)).status).toBe(200);
        expect(dockerObjects(env.name).containers).toHaveLength(4); // proxy, one replica, redis, postgres
    });

    it("a second `up` through it changes nothing", async () => {
        const again = await env.stack.up({ color: "never", expectNoChanges: true });
        expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
    });
});
