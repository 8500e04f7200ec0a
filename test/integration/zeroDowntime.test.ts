import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "../load";
import { appCopy, containerIds, docker, dockerObjects, http, restartLocalEngine, ThrowawayStack, throwawayStack } from "./harness";

describe("zero-downtime replacement behind berth's proxy", () => {
    let env: ThrowawayStack;
    let url: string;
    const context = appCopy();

    beforeAll(async () => {
        env = await throwawayStack({ appContext: context, replicas: "2" });
        url = (await env.stack.up({ color: "never" })).outputs.url.value;
    });
    afterAll(async () => {
        await env?.remove();
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("the proxy owns the public port; replicas publish none", () => {
        const names = dockerObjects(env.name).containers;
        expect(names.filter((n) => n.includes("-proxy-"))).toHaveLength(1);
        expect(names.filter((n) => n.includes("-shop-"))).toHaveLength(2);
    });

    it("a new build replaces every replica under steady load without one failed request", async () => {
        const before = await http("GET", `${url}/`);
        const proxyBefore = Object.entries(containerIds(env.name)).filter(([n]) => n.includes("-proxy-"));
        fs.appendFileSync(path.join(context, "server.js"), `\n// release ${Date.now()}\n`);

        const load = startLoad(`${url}/`);
        const deployed = await env.stack.up({ color: "never" });
        const switchedAt = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const result = await load.stop();

        const newVersion = deployed.outputs.version.value;
        console.log(`zero-downtime deploy: ${result.total} requests, ${result.failed} failed`, result.failures);
        expect(newVersion).not.toBe(before.json.version);
        expect(result.failures).toEqual({});
        expect(result.total).toBeGreaterThan(1000);
        expect(result.answers.filter((a) => a.at > switchedAt).every((a) => a.version === newVersion)).toBe(true);
        expect(Object.entries(containerIds(env.name)).filter(([n]) => n.includes("-proxy-"))).toEqual(proxyBefore);
    });

    it("a client that connected before the switch and sends its request seconds after it is answered: the old replicas outlive the proxy's old workers", async () => {
        const before = await http("GET", `${url}/`);
        const oldReplicas = dockerObjects(env.name).containers.filter((n) => n.includes("-shop-"));
        fs.appendFileSync(path.join(context, "server.js"), `\n// release ${Date.now()}\n`);
        // Connected now, so accepted by one of the proxy's current nginx workers, which the release's reload retires.
        const { port, hostname } = new URL(url);
        const slow = net.connect(Number(port), hostname);
        await new Promise((resolve, reject) => slow.once("connect", resolve).once("error", reject));
        let answer = "";
        slow.on("data", (chunk) => (answer += chunk));
        const answered = new Promise((resolve) => slow.on("close", resolve));

        const release = env.stack.up({ color: "never" });
        // Fresh connections reach the new release: the switch is done. The old replicas stay while the old worker
        // holding the slow connection lives: 3 s later they must still be there (they were gone within 1 s before).
        const deadline = Date.now() + 120_000;
        while ((await http("GET", `${url}/`)).json.version === before.json.version) {
            if (Date.now() > deadline) throw new Error("the release never switched");
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        for (let waited = 0; waited < 3000 && oldReplicas.some((n) => docker("ps", "-q", "--filter", `name=^${n}$`)); waited += 100) {
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        slow.write("GET / HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n");
        await answered;
        await release;

        expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
        expect(answer).toContain(before.json.version);
        expect(dockerObjects(env.name).containers.filter((n) => oldReplicas.includes(n))).toEqual([]);
    });

    it("keeps answering on loopback with no failed request while the engine restarts, and the next up changes nothing", async () => {
        // The proxy listens on the host's network: no NAT rule (rebuilt by a starting dockerd, refusing connections
        // meanwhile) nor docker-proxy (gone with the old dockerd) between the client and nginx.
        expect(new URL(url).hostname).toBe("127.0.0.1");
        const load = startLoad(`${url}/`, 4, 180);
        try {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            await restartLocalEngine();
            await new Promise((resolve) => setTimeout(resolve, 2000));
        } finally {
            const result = await load.stop();
            console.log(`local engine restart: ${result.total} requests, failures`, result.failures);
            expect(result.failures).toEqual({});
            expect(result.total).toBeGreaterThan(500);
        }
        const again = await env.stack.up({ color: "never" });
        expect(Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
    });
});
