import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "../load";
import { recoverStack } from "../../scripts/recover";
import { appCopy, Checkout, containerIds, docker, processesWith, projectRoot, setObjectConfig, ThrowawayStack, throwawayStack, writeCheckoutRelease, writeLiveProbe } from "./harness";

/** One GET with the cookie given: the status, the version answered and the pin cookie set. */
async function get(url: string, cookie = ""): Promise<{ status: number; version?: string; pin?: string }> {
    const response = await fetch(url, { headers: cookie ? { cookie } : {} });
    const body = (await response.json().catch(() => ({}))) as { version?: string };
    const pin = /berth_release=(app|canary)/.exec(response.headers.get("set-cookie") ?? "")?.[1];
    return { status: response.status, version: body.version, pin };
}

/**
 * A watched release (berth:canary, berth:watchSeconds) on this machine's engine, under load on the route a release
 * breaks: a failing or slow release is rolled back with the figures and nothing replaced, a good one promoted with no
 * failed request, a client pinned by its cookie, and a killed `up` mid-canary leaves the old release serving all.
 */
describe("a release that watches itself", () => {
    let env: ThrowawayStack;
    let url: string;
    let oldVersion: string;
    const context = appCopy();
    const canary = { percent: 25, seconds: 10, maxErrorRate: 0.05, maxP95Ms: 800, minRequests: 20 };

    const release = (checkout: Checkout) => writeCheckoutRelease(context, checkout);

    const replicas = () => Object.keys(containerIds(env.name)).filter((name) => /-shop-[0-9a-f]{6}$/.test(name)).sort();
    const proxy = () => Object.keys(containerIds(env.name)).find((name) => name.includes("-proxy-"))!;
    const canaries = () => Object.keys(containerIds(env.name)).filter((name) => name.includes("-shop-canary-"));

    /** `up` under load on /checkout: its error (if it failed) and what the clients saw. */
    async function upUnderLoad() {
        const load = startLoad(`${url}/checkout`, 8, 300);
        const error = await env.stack.up({ color: "never" }).then(() => undefined, (err: Error) => err);
        return { error, load: await load.stop() };
    }

    /** Every answer of `n` requests comes from the release `version`. */
    async function allAnswer(version: string, n = 40): Promise<void> {
        const versions = new Set<string | undefined>();
        for (let i = 0; i < n; i++) versions.add((await get(`${url}/checkout`)).version);
        expect([...versions]).toEqual([version]);
    }

    beforeAll(async () => {
        const healthcheck = writeLiveProbe(context);
        release("good");
        env = await throwawayStack({
            appContext: context,
            replicas: "2",
            healthcheck,
            canary,
        });
        const { outputs } = await env.stack.up({ color: "never" });
        url = outputs.url.value;
        oldVersion = outputs.version.value;
    });
    afterAll(async () => {
        await env?.remove();
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("a release failing on one route under load is rolled back by its canary: clients' errors bounded by its share, up fails with the figures, nothing replaced", async () => {
        const before = replicas();
        release("failing");
        const preview = await env.stack.preview({ color: "never", diff: true });
        expect(preview.stdout).toMatch(/CanaryRelease[^\n]*release-watch|release-watch[^\n]*CanaryRelease/);

        const { error, load } = await upUnderLoad();
        console.log("failing release under canary:", load.total, "requests", load.failures, "\n", error?.message.split("\n").filter((l) => /rolled back|old:|new:/.test(l)).join("\n"));
        expect(error?.message).toMatch(/was rolled back by the canary \(25% of traffic, 10 s\): error rate \d+\.\d% > 5\.0% \(old: 0\.0%\)/);
        expect(error?.message).toMatch(/old: \d+ requests, 0 errors \(0\.0%\), p95 \d+ ms; new: \d+ requests, \d+ errors/);
        expect(error?.message).toContain("Nothing was replaced: the old release serves all traffic");
        // Only the canary's answers failed, and only while it was watched: about its share of the window's requests.
        expect(Object.keys(load.failures)).toEqual(["500"]);
        expect(load.failed).toBeGreaterThan(0);
        expect(load.failed).toBeLessThan(load.total * 0.4);
        expect(Math.max(...load.failedAt!) - Math.min(...load.failedAt!)).toBeLessThan((canary.seconds + 3) * 1000);
        expect(replicas()).toEqual(before);
        expect(canaries()).toEqual([]);
        await allAnswer(oldVersion);
        expect(docker("exec", proxy(), "cat", "/etc/nginx/berth/release.conf")).toContain("default app;");
    });

    it("a release slow on one route is rolled back on its p95", async () => {
        release("slow");
        const { error, load } = await upUnderLoad();
        expect(error?.message).toMatch(/was rolled back by the canary \(25% of traffic, 10 s\): p95 1\d{3} ms > 800 ms \(old: \d+ ms\)/);
        expect(load.failures).toEqual({});
        expect(canaries()).toEqual([]);
        await allAnswer(oldVersion);
    });

    it("a good release is promoted under the same load with no failed request; a client pinned by its cookie stays on one release for the window", async () => {
        release("good");
        const load = startLoad(`${url}/checkout`, 8, 300);
        const up = env.stack.up({ color: "never" });
        // Once the split is in place, a client is pinned to the release that first answered it. Only answers given
        // while the split is in place count: they carry the pin cookie again; after the window every request goes to
        // the replicas (then the new ones), whatever its cookie.
        const pinned: Record<string, string[]> = {};
        const deadline = Date.now() + 120_000;
        while (Object.keys(pinned).length < 2 && Date.now() < deadline) {
            const first = await get(`${url}/checkout`);
            if (first.pin && !pinned[first.pin]) {
                const answers = [first];
                for (let i = 0; i < 15; i++) answers.push(await get(`${url}/checkout`, `berth_release=${first.pin}`));
                pinned[first.pin] = answers.filter((answer) => answer.pin).map((answer) => `${answer.pin} ${answer.version}`);
            }
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const { outputs } = await up;
        const newVersion = outputs.version.value;
        const result = await load.stop();
        const previous = oldVersion;
        oldVersion = newVersion;
        expect(result.failures).toEqual({});
        expect(result.total).toBeGreaterThan(200);
        expect(newVersion).not.toBe(previous);
        const seen = `answers to pinned clients in the window: ${JSON.stringify(pinned)}`;
        expect(new Set(pinned.canary), seen).toEqual(new Set([`canary ${newVersion}`]));
        expect(new Set(pinned.app), seen).toEqual(new Set([`app ${previous}`]));
        expect(pinned.canary.length + pinned.app.length, seen).toBeGreaterThan(5);
        await allAnswer(outputs.version.value);
        expect(canaries()).toEqual([]);
        const again = await env.stack.up({ color: "never", expectNoChanges: true });
        expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
    });

    it("berth:watchSeconds: a release sent all traffic and failing is rolled back at once, its old replicas kept", async () => {
        await setObjectConfig(env.stack, "canary", { maxErrorRate: 0.05, maxP95Ms: 800, minRequests: 20 });
        await env.stack.setConfig("berth:watchSeconds", { value: "6" });
        const before = replicas();
        release("failing");
        const { error, load } = await upUnderLoad();
        expect(error?.message).toMatch(/was rolled back by the watch \(all traffic, 6 s\): error rate 100\.0% > 5\.0%\.\n/);
        expect(Object.keys(load.failures)).toEqual(["500"]);
        expect(replicas()).toEqual(before);
        await allAnswer(oldVersion);
    });

    it("an up killed with SIGKILL mid-canary: the next entry point leaves the old release serving everything", async () => {
        await setObjectConfig(env.stack, "canary", { ...canary, seconds: 120 });
        await env.stack.setConfig("berth:watchSeconds", { value: "0" });
        release("good");
        const run = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", env.name], {
            cwd: projectRoot, env: { ...process.env, ...env.envVars }, detached: true, stdio: "ignore",
        });
        const deadline = Date.now() + 180_000;
        let split = false;
        while (!split && Date.now() < deadline) {
            split = !(await fetch(`${url}/__berth/release`).then((r) => r.text())).startsWith("none");
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect(split).toBe(true);
        expect(canaries()).toHaveLength(1);
        // What a teammate sees meanwhile.
        const status = spawnSync("npm", ["run", "--silent", "status", "--", "--stack", env.name], { cwd: projectRoot, env: { ...process.env, ...env.envVars }, encoding: "utf8", timeout: 120_000 });
        expect(status.stdout).toContain("a new release is being watched (canary): 25% of requests go to its canary containers");
        expect(status.stdout).toMatch(/-shop-canary-[0-9a-f]{6}\s+canary\s+Up/);
        process.kill(-run.pid!, "SIGKILL");
        await new Promise((resolve) => run.once("exit", resolve));
        while (processesWith(env.envVars.PULUMI_BACKEND_URL).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));

        await recoverStack(env.name, { cwd: projectRoot, env: env.envVars });
        expect(canaries()).toEqual([]);
        expect(await fetch(`${url}/__berth/release`).then((r) => r.text())).toBe("none\n");
        await allAnswer(oldVersion);
    });
});
