import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recoverStack } from "../../scripts/recover";
import { appCopy, containerIds, dockerObjects, http, projectRoot, ThrowawayStack, throwawayStack } from "./harness";

/**
 * A release killed half-way (kill -9 of the whole `up` process group while its new replicas start): the stack is
 * left locked, with replicas outside state and pending creates. berth's entry points recover it with no manual step.
 */
describe("an `up` killed in the middle of a release", () => {
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
        // Killed as soon as a new replica exists (it is starting, or waiting for its healthcheck).
        const deadline = Date.now() + 120_000;
        while (!Object.keys(containerIds(env.name)).some((name) => name.includes("-shop-") && !before.includes(name))) {
            if (Date.now() > deadline) throw new Error("no new replica appeared within 120s");
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        process.kill(-run.pid!, "SIGKILL");
        await new Promise((resolve) => run.once("exit", resolve));
        const orphaned = Object.keys(containerIds(env.name)).filter((name) => !before.includes(name));
        expect(orphaned.length).toBeGreaterThan(0);
        expect((await http("GET", `${url}/healthz`)).status).toBe(200); // the old release still serves
        await expect(env.stack.up({ color: "never" })).rejects.toThrow(/currently locked/);

        recoverStack(env.name, { cwd: projectRoot, env: env.envVars });
        for (const name of orphaned) expect(Object.keys(containerIds(env.name))).not.toContain(name);

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
