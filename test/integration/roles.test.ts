import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "../load";
import { appCopy, docker, http, projectRoot, setObjectConfig, ThrowawayStack, throwawayStack } from "./harness";

/** A stack's containers of one role (labels as berth writes them), sorted. */
const roleContainers = (stack: string, role: string) =>
    docker("ps", "--filter", `label=berth.stack=${stack}`, "--filter", "label=berth.role=worker", "--filter", `label=berth.process=${role}`, "--format", "{{.Names}}")
        .split("\n").filter(Boolean).sort();

async function until<T>(what: string, probe: () => Promise<T | undefined>, seconds = 30): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const value = await probe();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`${what} did not happen within ${seconds}s`);
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
}

/**
 * berth:roles on the local engine: the sample app's Redis-backed worker from the same image, consuming jobs the web
 * role queues, replaced in each release after web; a role that does not stay up fails the release.
 */
describe("process roles: a worker from the app's image", () => {
    let env: ThrowawayStack;
    let url: string;
    const context = appCopy();
    const worker = { command: "node worker.js", replicas: 2, upSeconds: 2, stopTimeoutSeconds: 5 };
    /** Queues `count` jobs and waits until the workers have done them all; returns who did the last. */
    const work = async (count: number) => {
        const before = (await http("GET", `${url}/jobs`)).json.done;
        for (let i = 0; i < count; i++) expect((await http("POST", `${url}/jobs`)).status).toBe(202);
        return until("the jobs done", async () => {
            const jobs = (await http("GET", `${url}/jobs`)).json;
            return jobs.done >= before + count && jobs.queued === 0 ? jobs.last : undefined;
        });
    };

    beforeAll(async () => {
        env = await throwawayStack({ appContext: context, replicas: "1", roles: { worker } });
        url = (await env.stack.up({ color: "never" })).outputs.url.value;
    });
    afterAll(async () => {
        await env?.remove();
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("runs the role's replicas from the release's image, with the app's environment and without web's healthcheck, and they consume", async () => {
        const outputs = await env.stack.outputs();
        const names = roleContainers(env.name, "worker");
        expect(names).toHaveLength(2);
        expect(outputs.processes.value).toEqual({ worker: expect.arrayContaining(names) });
        const [inspected] = JSON.parse(docker("inspect", names[0]));
        expect(inspected.Config.Healthcheck.Test).toEqual(["NONE"]);
        expect(inspected.Config.Cmd).toEqual(["/bin/sh", "-c", "exec node worker.js"]);
        expect(inspected.Config.Env.some((e: string) => e.startsWith("REDIS_URL="))).toBe(true);
        expect(inspected.Image).toBe(JSON.parse(docker("inspect", outputs.containers.value[0]))[0].Image);
        const last = await work(10);
        expect(last.version).toBe(outputs.version.value);
        // Done by one of them (a container's hostname is its short id).
        expect(names.some((name) => JSON.parse(docker("inspect", name))[0].Id.startsWith(last.worker))).toBe(true);
    });

    it("`npm run logs -- --role worker` merges the workers' lines", () => {
        const logs = spawnSync("npm", ["run", "--silent", "logs", "--", "--stack", env.name, "--role", "worker"], { cwd: projectRoot, encoding: "utf8" });
        expect(logs.status).toBe(0);
        const prefixes = new Set(logs.stdout.split("\n").filter((line) => line.includes(" | ")).map((line) => line.split(" | ")[0]));
        expect(prefixes).toEqual(new Set(roleContainers(env.name, "worker")));
        expect(logs.stdout).toContain("waiting for jobs");
        const unknown = spawnSync("npm", ["run", "--silent", "logs", "--", "--stack", env.name, "--role", "mailer"], { cwd: projectRoot, encoding: "utf8" });
        expect(unknown.stderr).toContain(`no role mailer runs in stack ${env.name}`);
    });

    it("replaces the workers in a release after web, under load with no failed request, and the new ones consume", async () => {
        const before = roleContainers(env.name, "worker");
        fs.appendFileSync(path.join(context, "worker.js"), `\n// release ${Date.now()}\n`);
        const load = startLoad(`${url}/`, 4, 300);
        let version: string;
        try {
            version = (await env.stack.up({ color: "never" })).outputs.version.value;
        } finally {
            const result = await load.stop();
            expect(result.failures).toEqual({});
        }
        const after = roleContainers(env.name, "worker");
        expect(after).toHaveLength(2);
        expect(after.filter((name) => before.includes(name))).toEqual([]);
        expect((await work(10)).version).toBe(version!);
        const second = await env.stack.up({ color: "never" });
        expect(Object.keys(second.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
    });

    it("a role that does not stay up fails up, naming the container, and its running replicas stay", async () => {
        const before = roleContainers(env.name, "worker");
        await setObjectConfig(env.stack, "roles", { worker: { ...worker, command: "node -e 'setTimeout(() => process.exit(3), 500)'" } });
        try {
            await expect(env.stack.up({ color: "never" })).rejects.toThrow(/did not stay up for 2s \(exit code 3\)|exited with code 3/);
            expect(roleContainers(env.name, "worker")).toEqual(before);
            expect((await work(3)).worker).toBeTruthy();
        } finally {
            await setObjectConfig(env.stack, "roles", { worker });
        }
        await env.stack.up({ color: "never" });
    });

    it("a worker written as a Procfile line runs under the shell, consumes, and finishes its job on SIGTERM", async () => {
        await setObjectConfig(env.stack, "roles", { worker: { ...worker, command: "cd /app && node worker.js" } });
        try {
            await env.stack.up({ color: "never" });
            const workers = roleContainers(env.name, "worker");
            expect(workers).toHaveLength(2);
            expect((await work(3)).worker).toBeTruthy();
            const started = Date.now();
            docker("stop", "--time", "5", workers[0]);
            // Well inside the stop timeout: the signal reached node through the shell, which waited for it.
            expect(Date.now() - started).toBeLessThan(4000);
            expect(docker("logs", workers[0])).toMatch(/stop: SIGTERM, finishing the current job/);
        } finally {
            await setObjectConfig(env.stack, "roles", { worker });
        }
        await env.stack.up({ color: "never" });
    });

    it("a role that cannot run fails the release before web switches: the old release keeps serving", async () => {
        const served = (await http("GET", `${url}/`)).json.version;
        fs.appendFileSync(path.join(context, "server.js"), `\n// release ${Date.now()}\n`);
        await setObjectConfig(env.stack, "roles", { worker: { ...worker, command: "cd /app && no-such-worker" } });
        try {
            await expect(env.stack.up({ color: "never" })).rejects.toThrow(/exit code 127: the shell found no such command/);
            expect((await http("GET", `${url}/`)).json.version).toBe(served);
            expect((await work(3)).worker).toBeTruthy();
        } finally {
            await setObjectConfig(env.stack, "roles", { worker });
        }
        await env.stack.up({ color: "never" });
        expect((await http("GET", `${url}/`)).json.version).not.toBe(served);
    });

    it("refuses a role named web at preview, naming the key, before anything changes", async () => {
        await setObjectConfig(env.stack, "roles", { web: { command: "node server.js" } });
        try {
            await expect(env.stack.preview({ color: "never" })).rejects.toThrow(/invalid config berth:roles.web = .*web is the app's own role/);
        } finally {
            await setObjectConfig(env.stack, "roles", { worker });
        }
    });
});
