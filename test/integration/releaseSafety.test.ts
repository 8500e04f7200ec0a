import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "../load";
import { appCopy, containerIds, http, ThrowawayStack, throwawayStack } from "./harness";

describe("a bad release never replaces a good one", () => {
    let env: ThrowawayStack;
    let url: string;
    let goodVersion: string;
    const context = appCopy();
    const failingTest = path.join(context, "test", "zz-broken.test.js");
    const healthcheck = path.join(context, "healthcheck.js");
    const goodHealthcheck = fs.readFileSync(healthcheck, "utf8");

    /** Runs `up` under load; returns its error (if any) and what the load saw. */
    async function upUnderLoad() {
        const load = startLoad(`${url}/`);
        const error = await env.stack.up({ color: "never" }).then(() => undefined, (err: Error) => err);
        return { error, load: await load.stop() };
    }

    beforeAll(async () => {
        env = await throwawayStack({ appContext: context, replicas: "2", testCommand: "npm test", healthTimeoutSeconds: "20" });
        const { outputs } = await env.stack.up({ color: "never" });
        url = outputs.url.value;
        goodVersion = outputs.version.value;
    });
    afterAll(async () => {
        await env?.remove();
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("failing tests inside the new image fail `up`; nothing is replaced and the old version serves throughout", async () => {
        const before = containerIds(env.name);
        fs.writeFileSync(failingTest, "require('node:test')('a broken release', () => { throw new Error('boom'); });\n");
        const { error, load } = await upUnderLoad();
        expect(error?.message).toMatch(/release gate: `npm test` failed/);
        expect(load.failed).toBe(0);
        expect(load.total).toBeGreaterThan(500);
        expect(new Set(load.answers.map((a) => a.version))).toEqual(new Set([goodVersion]));
        expect(containerIds(env.name)).toEqual(before);
    });

    it("a new image that never gets healthy fails `up` after the timeout; the old replicas keep serving", async () => {
        fs.rmSync(failingTest);
        fs.writeFileSync(healthcheck, "process.exit(1); // never healthy\n");
        const before = containerIds(env.name);
        const { error, load } = await upUnderLoad();
        expect(error?.message).toMatch(/was not healthy within 20s|reported unhealthy/);
        expect(load.failed).toBe(0);
        expect(new Set(load.answers.map((a) => a.version))).toEqual(new Set([goodVersion]));
        // The unhealthy replica was removed; only the old containers remain.
        expect(containerIds(env.name)).toEqual(before);
    });

    it("the next good build converges without manual cleanup", async () => {
        fs.writeFileSync(healthcheck, goodHealthcheck);
        fs.appendFileSync(path.join(context, "server.js"), "\n// the fixed release\n");
        const { error, load } = await upUnderLoad();
        expect(error).toBeUndefined();
        expect(load.failed).toBe(0);
        const version = (await env.stack.outputs()).version.value;
        expect(version).not.toBe(goodVersion);
        expect((await http("GET", `${url}/`)).json.version).toBe(version);
        const again = await env.stack.up({ color: "never", expectNoChanges: true });
        expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
    });
});
