import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "../load";
import { appCopy, containerIds, dockerObjects, http, ThrowawayStack, throwawayStack } from "./harness";

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
});
