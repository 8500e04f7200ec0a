import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ownedContainers, recoverStack } from "../../scripts/recover";
import { appCopy, containerIds, dockerObjects, http, processesWith, projectRoot, ThrowawayStack, throwawayStack } from "./harness";

/**
 * A release killed half-way (kill -9 of the whole `up` process group while its new replicas start): the stack is
 * left locked, with replicas outside state and pending creates. berth's entry points recover it with no manual step.
 */
describe("an `up` killed in the middle of a release (and a concurrent one)", () => {
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

    it("is recovered by the next run: stale lock cleared, orphans removed, `up` converges, `destroy` leaves nothing", async () => {
        const before = Object.keys(containerIds(env.name));
        fs.appendFileSync(path.join(context, "server.js"), `\n// killed release ${Date.now()}\n`);
        const run = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", env.name], {
            cwd: projectRoot, env: { ...process.env, ...env.envVars }, detached: true, stdio: "ignore",
        });
        const waitFor = async (what: string, done: () => boolean) => {
            const deadline = Date.now() + 120_000;
            while (!done()) {
                if (Date.now() > deadline) throw new Error(`${what} did not happen within 120s`);
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        };
        // While it runs (it holds the stack's lock), a second `up` is refused naming the holder, and recovery leaves
        // the live run alone.
        const locks = path.join(env.envVars.PULUMI_BACKEND_URL.slice("file://".length), ".pulumi", "locks", "organization", "berth", env.name);
        await waitFor("the run's lock", () => fs.existsSync(locks) && fs.readdirSync(locks).length > 0);
        const holder = /currently locked by \d+ lock\(s\)[^]*created by \S+@\S+ \(pid \d+\)/;
        await expect(env.stack.up({ color: "never" })).rejects.toThrow(holder);
        const held = fs.readdirSync(locks).sort();
        await recoverStack(env.name, { cwd: projectRoot, env: env.envVars });
        expect(fs.readdirSync(locks).sort()).toEqual(held);
        // Killed as soon as a new replica exists: it is starting, or waiting for its healthcheck (a pending create).
        await waitFor("a new replica", () => Object.keys(containerIds(env.name)).some((name) => name.includes("-shop-") && !before.includes(name)));
        process.kill(-run.pid!, "SIGKILL");
        await new Promise((resolve) => run.once("exit", resolve));
        // The engine's plugins (language host, provider) run in process groups of their own: they end with it.
        await waitFor("the killed run's plugins to end", () => processesWith(env.envVars.PULUMI_BACKEND_URL).length === 0);
        const orphaned = Object.keys(containerIds(env.name)).filter((name) => !before.includes(name));
        expect(orphaned.length).toBeGreaterThan(0);
        expect((await http("GET", `${url}/healthz`)).status).toBe(200); // the old release still serves
        await expect(env.stack.up({ color: "never" })).rejects.toThrow(/currently locked/);

        await recoverStack(env.name, { cwd: projectRoot, env: env.envVars });
        // Whatever the kill interrupted (a create, or later steps), every labelled container is now state's.
        const { names: owned } = ownedContainers((await env.stack.exportStack()).deployment);
        expect(Object.keys(containerIds(env.name)).filter((name) => !owned.has(name))).toEqual([]);

        const result = await env.stack.up({ color: "never" });
        expect((await http("GET", `${url}/`)).json.version).toBe(result.outputs.version.value);
        const apps = dockerObjects(env.name).containers.filter((n) => n.includes("-shop-"));
        expect(apps.sort()).toEqual([...result.outputs.containers.value].sort());
        expect(Object.keys((await env.stack.up({ color: "never", expectNoChanges: true })).summary.resourceChanges ?? {})).toEqual(["same"]);

        await env.stack.destroy({ color: "never", excludeProtected: true });
        const left = dockerObjects(env.name);
        expect(left.containers).toEqual([]);
        expect(left.networks).toEqual([]);
    });
});
