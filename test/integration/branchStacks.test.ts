import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "../load";
import { appCopy, docker, dockerObjects, http, projectRoot, requireToolchain } from "./harness";

describe("per-branch stacks (npm run branch -- up|down <branch>)", () => {
    // Its own backend, so the developer's stacks are never listed or touched.
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "berth-branches-"));
    const env = { ...process.env, PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "branch-tests", PULUMI_CONFIG_PASSPHRASE_FILE: "", PULUMI_NODEJS_TRANSPILE_ONLY: "true" };
    const suffix = crypto.randomBytes(2).toString("hex");
    const branches = { login: `feature/Login-Page-${suffix}`, cache: `fix/cache-${suffix}` };
    const stacks = { login: `branch-feature-login-page-${suffix}`, cache: `branch-fix-cache-${suffix}` };
    const contexts = { login: appCopy(), cache: appCopy() };
    const urls: Record<string, string> = {};

    // Asynchronous, so the load generator in this process keeps running while a command does.
    const branch = (...args: string[]) => new Promise<{ status: number | null; output: string }>((resolve) => {
        const child = spawn("npm", ["run", "--silent", "branch", "--", ...args], { cwd: projectRoot, env });
        let output = "";
        child.stdout.on("data", (chunk) => (output += chunk));
        child.stderr.on("data", (chunk) => (output += chunk));
        child.on("close", (status) => resolve({ status, output }));
    });
    const outputs = async (stack: string) =>
        (await LocalWorkspace.selectStack({ stackName: stack, workDir: projectRoot }, { envVars: env as Record<string, string> })).outputs();

    beforeAll(() => {
        requireToolchain();
        // Two branches with different code: each image (and the version it answers with) is its own.
        fs.appendFileSync(path.join(contexts.login, "server.js"), "\n// login page branch\n");
        fs.appendFileSync(path.join(contexts.cache, "server.js"), "\n// cache fix branch\n");
    });
    afterAll(async () => {
        for (const name of ["login", "cache"] as const) {
            if (fs.existsSync(path.join(projectRoot, `Pulumi.${stacks[name]}.yaml`))) await branch("down", branches[name]);
            fs.rmSync(contexts[name], { recursive: true, force: true });
        }
        fs.rmSync(backend, { recursive: true, force: true });
    });

    it("brings two branches up side by side, each on its own port with its own version", async () => {
        for (const name of ["login", "cache"] as const) {
            const run = await branch("up", branches[name], "--set", `appContext=${contexts[name]}`);
            expect(run.status, run.output).toBe(0);
            urls[name] = /answers at (http:\/\/\S+)/.exec(run.output)![1];
        }
        expect(urls.login).not.toBe(urls.cache);
        const versions = { login: (await outputs(stacks.login)).version.value, cache: (await outputs(stacks.cache)).version.value };
        expect(versions.login).not.toBe(versions.cache);
        expect((await http("GET", `${urls.login}/`)).json.version).toBe(versions.login);
        expect((await http("GET", `${urls.cache}/`)).json.version).toBe(versions.cache);
        // The image path carries the branch: <registry>/<app>/<branch>:<sha>.
        expect((await outputs(stacks.login)).imageRef.value).toContain(`/shop/feature-login-page-${suffix}@sha256:`);
    });

    it("keeps each branch's data to itself", async () => {
        expect((await http("POST", `${urls.login}/rows`, { note: "login-only" })).status).toBe(201);
        expect((await http("POST", `${urls.cache}/rows`, { note: "cache-only" })).status).toBe(201);
        const notes = async (url: string) => (await http("GET", `${url}/rows`)).json.rows.map((r: { note: string }) => r.note);
        expect(await notes(urls.login)).toEqual(["login-only"]);
        expect(await notes(urls.cache)).toEqual(["cache-only"]);
    });

    it("a second `up` of a branch changes nothing", async () => {
        const run = await branch("up", branches.cache, "--set", `appContext=${contexts.cache}`);
        expect(run.status, run.output).toBe(0);
        expect(run.output).toMatch(/\d+ unchanged/);
        expect(run.output).not.toMatch(/to (create|update|replace|delete)|created|updated|replaced|deleted/);
    });

    it("refuses bad branch names and a name that maps to another branch's stack, changing nothing", async () => {
        const before = dockerObjects(stacks.cache);
        const cases: [string, RegExp][] = [
            ["", /invalid branch name "": it is empty/],
            ["x".repeat(101), /it has 101 characters; at most 100/],
            ["//--", /invalid branch name "\/\/--": it has no letters or digits/],
            [`FIX/Cache-${suffix}`, new RegExp(`maps to stack ${stacks.cache}, which belongs to branch "${branches.cache}"; rename the branch`)],
        ];
        for (const [name, message] of cases) {
            const run = await branch("up", name);
            expect(run.status).toBe(2);
            expect(run.output).toMatch(message);
        }
        expect(dockerObjects(stacks.cache)).toEqual(before);
    });

    it("tears one branch down completely while the other keeps serving", async () => {
        const load = startLoad(`${urls.cache}/`);
        const run = await branch("down", branches.login);
        const served = await load.stop();
        expect(run.status, run.output).toBe(0);
        expect(served.total).toBeGreaterThan(100);
        expect(served.failed).toBe(0);

        expect(dockerObjects(stacks.login)).toEqual({ containers: [], networks: [], volumes: [] });
        expect(docker("image", "ls", "-q", "--filter", `label=berth.built-by=${stacks.login}`)).toBe("");
        expect(fs.existsSync(path.join(projectRoot, `Pulumi.${stacks.login}.yaml`))).toBe(false);
        const workspace = await LocalWorkspace.create({ workDir: projectRoot, envVars: env as Record<string, string> });
        expect((await workspace.listStacks()).map((s) => s.name)).toEqual([stacks.cache]);

        expect((await http("GET", `${urls.cache}/rows`)).json.rows.map((r: { note: string }) => r.note)).toEqual(["cache-only"]);
        expect(dockerObjects(stacks.cache).volumes).toHaveLength(2);
    });
});
