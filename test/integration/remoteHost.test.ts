import * as net from "net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerObjects, freePort, http, ThrowawayStack, throwawayStack } from "./harness";

/**
 * berth:hosts reaches an engine anywhere the docker CLI can (unix://, tcp://, ssh://). Here a TCP endpoint on
 * loopback forwards to the local engine's socket, and counts what goes through it: the whole deployment must.
 */
describe("deploying to the engine at berth:hosts", () => {
    let env: ThrowawayStack;
    let forwarder: net.Server;
    let connections = 0;

    beforeAll(async () => {
        const port = await freePort();
        // Half-open allowed both ways, as a TCP engine endpoint behaves: the docker CLI closes its sending side
        // once a request is sent and keeps reading the answer (an exec's output, then its exit code).
        forwarder = net.createServer({ allowHalfOpen: true }, (client) => {
            connections++;
            const engine = net.connect({ path: "/var/run/docker.sock", allowHalfOpen: true });
            client.pipe(engine).pipe(client);
            const close = () => { client.destroy(); engine.destroy(); };
            client.on("error", close);
            engine.on("error", close);
        });
        await new Promise<void>((resolve) => forwarder.listen(port, "127.0.0.1", resolve));
        env = await throwawayStack({ hosts: [`tcp://127.0.0.1:${port}`] });
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
