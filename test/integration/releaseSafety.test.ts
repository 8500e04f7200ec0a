import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "../load";
import { appCopy, containerIds, docker, http, setObjectConfig, ThrowawayStack, throwawayStack } from "./harness";

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
        expect(error?.message).toMatch(/release gate: `npm test` failed[^]*a broken release[^]*boom/);
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

    /** The releases the sample app's migration recorded, oldest first, with when. */
    function recordedReleases(): { version: string; at: number }[] {
        const postgres = Object.keys(containerIds(env.name)).find((n) => n.includes("-postgres-"))!;
        const out = docker("exec", postgres, "psql", "-U", "app", "-d", "app", "-At", "-F", " ", "-c",
            "SELECT version, extract(epoch from migrated_at) * 1000 FROM releases ORDER BY id");
        return out.split("\n").filter(Boolean).map((line) => ({ version: line.split(" ")[0], at: Number(line.split(" ")[1]) }));
    }

    it("the release command runs once per release, after the tests and before any replica changes, with the secret variables", async () => {
        const token = "tok-" + Date.now().toString(36);
        await env.stack.setConfig("berth:releaseCommand", { value: "npm run --silent migrate" });
        await env.stack.setAllConfig({ "berth:secretEnv.MIGRATION_TOKEN": { value: token, secret: true } }, true);
        fs.appendFileSync(path.join(context, "server.js"), "\n// a release with a migration\n");
        const { outputs } = await env.stack.up({ color: "never" });
        const version = outputs.version.value;
        expect(outputs.releaseCommandOutput.value).toBe(`migrated: release ${version} recorded; MIGRATION_TOKEN set (${token.length} characters)`);
        const releases = recordedReleases();
        expect(releases.map((r) => r.version)).toEqual([version]);
        // Before any replica of the new version started.
        const started = Object.keys(containerIds(env.name)).filter((n) => n.includes("-shop-"))
            .map((n) => Date.parse(JSON.parse(docker("inspect", n))[0].State.StartedAt));
        expect(Math.min(...started)).toBeGreaterThan(releases[0].at);
        // The secret reaches the app as a variable, and appears on no command line and nowhere in state in plaintext.
        const replica = Object.keys(containerIds(env.name)).find((n) => n.includes("-shop-"))!;
        expect(docker("exec", replica, "printenv", "MIGRATION_TOKEN")).toBe(token);
        expect(JSON.stringify(JSON.parse(docker("inspect", replica))[0].Config.Cmd)).not.toContain(token);
        const backend = env.envVars.PULUMI_BACKEND_URL.replace("file://", "");
        const stateFiles = (fs.readdirSync(backend, { recursive: true }) as string[]).filter((f) => f.endsWith(`${env.name}.json`));
        expect(stateFiles.length).toBeGreaterThan(0);
        for (const file of stateFiles) expect(fs.readFileSync(path.join(backend, file), "utf8")).not.toContain(token);
    });

    it("is not run again when the image did not change", async () => {
        await setObjectConfig(env.stack, "env", { LOG_LEVEL: "debug" });
        await env.stack.up({ color: "never" });
        expect(recordedReleases()).toHaveLength(1);
        await env.stack.removeConfig("berth:env");
    });

    it("a failing release command fails `up`, shows its output, and nothing is replaced", async () => {
        await env.stack.setConfig("berth:releaseCommand", { value: "echo 'cannot migrate: lock held' >&2; exit 3" });
        fs.appendFileSync(path.join(context, "server.js"), "\n// a release whose migration fails\n");
        const before = containerIds(env.name);
        const { error, load } = await upUnderLoad();
        expect(error?.message).toMatch(/release command: `echo 'cannot migrate: lock held' >&2; exit 3` failed[^]*nothing was replaced[^]*cannot migrate: lock held/);
        expect(load.failed).toBe(0);
        expect(containerIds(env.name)).toEqual(before);
        await env.stack.removeConfig("berth:releaseCommand");
    });

    it("a release command that hangs is stopped after berth:releaseCommandTimeoutSeconds, fails `up`, and nothing is replaced", async () => {
        await env.stack.setConfig("berth:releaseCommand", { value: "echo 'waiting for a lock'; sleep 600" });
        await env.stack.setConfig("berth:releaseCommandTimeoutSeconds", { value: "3" });
        fs.appendFileSync(path.join(context, "server.js"), "\n// a release whose migration hangs\n");
        const before = containerIds(env.name);
        try {
            const started = Date.now();
            await expect(env.stack.up({ color: "never" })).rejects.toThrow(/release command: `echo 'waiting for a lock'; sleep 600` did not finish within 3s[^]*nothing was replaced/);
            expect(Date.now() - started).toBeLessThan(120_000);
            // The one-off container went with it; the replicas are the ones before.
            expect(containerIds(env.name)).toEqual(before);
        } finally {
            await env.stack.removeConfig("berth:releaseCommand");
            await env.stack.removeConfig("berth:releaseCommandTimeoutSeconds");
        }
    });
});
