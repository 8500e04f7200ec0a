import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appCopy, containerIds, docker, dockerObjects, engineHealth, http, ThrowawayStack, throwawayStack } from "./harness";

/** The app's and the services' containers, told apart by name. */
function split(ids: Record<string, string>) {
    const pick = (part: string) => Object.entries(ids).filter(([name]) => name.includes(`-${part}-`)).map(([, id]) => id).sort();
    return { app: pick("shop"), redis: pick("redis"), postgres: pick("postgres") };
}

describe("a stack on the real engine: 2 app replicas, each on its own port, + Redis + Postgres", () => {
    let env: ThrowawayStack;
    let urls: string[];
    let version: string;
    let imageRef: string;
    const context = appCopy();
    const note = `row ${Date.now()}`;
    // A value a Docker env-file would cut at its first line break.
    const pem = "-----BEGIN TEST KEY-----\nMIIBOgIBAAJBAK=\n  indented line\n-----END TEST KEY-----";

    beforeAll(async () => {
        env = await throwawayStack({
            appContext: context, replicas: "2", proxy: "false", bindAddress: "0.0.0.0", restart: "on-failure:3", memory: "200m", cpus: "0.5",
            logDriver: "json-file", logOptions: { "max-size": "1m" }, env: { LOG_LEVEL: "debug", TEST_KEY_PEM: pem }, labels: { team: "web" },
        });
    });
    afterAll(async () => {
        await env?.remove();
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("`up` builds, pushes and runs both replicas, which answer with their version", async () => {
        const result = await env.stack.up({ color: "never" });
        urls = result.outputs.urls.value;
        version = result.outputs.version.value;
        imageRef = result.outputs.imageRef.value;
        expect(imageRef).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+/shop/${env.name}@sha256:[0-9a-f]{64}$`));
        expect(urls).toHaveLength(2);
        for (const url of urls) {
            expect((await http("GET", `${url}/healthz`)).status).toBe(200);
            expect((await http("GET", `${url}/`)).json.version).toBe(version);
        }
    });

    it("the app counts in Redis and stores rows in Postgres, shared by both replicas", async () => {
        const first = await http("POST", `${urls[0]}/hits`);
        const second = await http("POST", `${urls[1]}/hits`);
        expect(second.json.hits).toBe(first.json.hits + 1);
        expect((await http("POST", `${urls[0]}/rows`, { note })).status).toBe(201);
        const rows = await http("GET", `${urls[1]}/rows`);
        expect(rows.json.rows.map((r: { note: string }) => r.note)).toContain(note);
    });

    it("containers carry the restart policy, limits, healthcheck, network and labels asked for", async () => {
        const apps = dockerObjects(env.name).containers.filter((n) => n.includes("-shop-"));
        expect(apps).toHaveLength(2);
        for (const app of apps) {
            const inspected = JSON.parse(docker("inspect", app))[0];
            expect(inspected.HostConfig.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 3 });
            expect(inspected.HostConfig.Memory).toBe(200 * 1024 ** 2);
            expect(inspected.HostConfig.PortBindings["8080/tcp"]).toEqual([{ HostIp: "0.0.0.0", HostPort: expect.any(String) }]);
            expect(inspected.HostConfig.NanoCpus).toBe(0.5e9);
            expect(await engineHealth(app)).toBe("healthy");
            expect(Object.keys(inspected.NetworkSettings.Networks)).toEqual([`berth-${env.name}-net`]);
            expect(inspected.Config.Labels).toMatchObject({ team: "web", "berth.stack": env.name, "berth.role": "app", "berth.app": "shop", "berth.version": version });
            expect(inspected.Config.Image).toBe(imageRef);
            expect(inspected.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "1m", "max-file": "3" } });
            expect(docker("exec", app, "printenv", "TEST_KEY_PEM")).toBe(pem);
            expect(inspected.Config.Env).toEqual(expect.arrayContaining(["LOG_LEVEL=debug", "REDIS_HOST=redis", "DATABASE_URL=" + inspected.Config.Env.find((e: string) => e.startsWith("POSTGRES_URL=")).slice(13)]));
        }
        const postgres = JSON.parse(docker("inspect", dockerObjects(env.name).containers.find((n) => n.includes("-postgres-"))!))[0];
        expect(postgres.Mounts).toEqual([expect.objectContaining({ Type: "volume", Name: `berth-${env.name}-postgres-data`, Destination: "/var/lib/postgresql/data" })]);
        expect(postgres.Config.Env.join("\n")).toContain("POSTGRES_PASSWORD=");
        // Services get the engine's log driver with rotation, and a memory limit of their own.
        expect(postgres.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } });
        expect(postgres.HostConfig.Memory).toBe(512 * 1024 ** 2);
        expect(await engineHealth(postgres.Name.slice(1))).toBe("healthy");
    });

    it("a container flooding its log stays under its cap (1m × 3 files)", async () => {
        const app = dockerObjects(env.name).containers.find((n) => n.includes("-shop-"))!;
        // ~20 MB through the container's own stdout (PID 1's), the stream its log driver records.
        docker("exec", app, "sh", "-c", "head -c 20000000 /dev/zero | tr '\\0' 'x' | fold -w 1000 > /proc/1/fd/1");
        const logPath = JSON.parse(docker("inspect", app))[0].LogPath as string;
        const files = fs.readdirSync(path.dirname(logPath)).filter((f) => f.startsWith(path.basename(logPath)));
        const bytes = files.reduce((sum, f) => sum + fs.statSync(path.join(path.dirname(logPath), f)).size, 0);
        expect(files.length).toBeLessThanOrEqual(3);
        expect(bytes).toBeLessThan(3.5 * 1024 ** 2);
    });

    it("the registry holds the pushed tag, and no moving tag beside it", async () => {
        const registry = process.env.BERTH_REGISTRY!;
        const auth = Buffer.from(`${process.env.BERTH_REGISTRY_USER}:${fs.readFileSync(process.env.BERTH_REGISTRY_PASSWORD_FILE!, "utf8").trim()}`).toString("base64");
        const response = await fetch(`http://${registry}/v2/shop/${env.name}/tags/list`, { headers: { authorization: `Basic ${auth}` } });
        // A fresh CI runner's build starts from the previous release, pulled by its digest.
        expect(((await response.json()) as { tags: string[] }).tags).toEqual([version]);
        expect((await fetch(`http://${registry}/v2/shop/${env.name}/tags/list`)).status).toBe(401);
    });

    it("a second `up` with nothing changed changes nothing", async () => {
        const result = await env.stack.up({ color: "never", expectNoChanges: true });
        expect(Object.keys(result.summary.resourceChanges ?? {})).toEqual(["same"]);
        // The provider the program asks for before it loads (program.js) is the one every resource uses: one in state.
        const resources: { type: string; urn: string; provider?: string }[] = (await env.stack.exportStack()).deployment.resources;
        const providers = resources.filter((r) => r.type.startsWith("pulumi:providers:"));
        expect(providers.map((p) => p.type)).toEqual(["pulumi:providers:pulumi-nodejs"]);
        const custom = resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
        expect(custom.length).toBeGreaterThan(5);
        for (const r of custom) expect(r.provider?.startsWith(`${providers[0].urn}::`)).toBe(true);
    });

    it("restart policy and limits change in place: same containers, updated settings", async () => {
        const before = containerIds(env.name);
        await env.stack.setConfig("berth:restart", { value: "always" });
        await env.stack.setConfig("berth:memory", { value: "300m" });
        const result = await env.stack.up({ color: "never" });
        expect(result.summary.resourceChanges).toMatchObject({ update: 2 });
        expect(containerIds(env.name)).toEqual(before);
        const inspected = JSON.parse(docker("inspect", ...split(before).app));
        for (const c of inspected) {
            expect(c.HostConfig.RestartPolicy.Name).toBe("always");
            expect(c.HostConfig.Memory).toBe(300 * 1024 ** 2);
        }
    });

    it("a code change rebuilds the image and replaces only the app containers; services, volumes and rows stay", async () => {
        const before = split(containerIds(env.name));
        const volumesBefore = docker("volume", "inspect", `berth-${env.name}-postgres-data`, "--format", "{{.CreatedAt}}");
        fs.appendFileSync(path.join(context, "server.js"), "\n// a code-only change\n");
        // As on a fresh CI runner, the engine no longer knows the running release by its digest: berth pulls it back
        // from the registry to build from its layers (here they are local anyway, so no --cache-from is needed).
        docker("image", "rm", "--force", imageRef); // untags it; the running replicas keep their image
        const digests = () => docker("image", "ls", "--digests", "--format", "{{.Repository}}@{{.Digest}}").split("\n");
        expect(digests()).not.toContain(imageRef);
        const result = await env.stack.up({ color: "never" });
        expect(digests()).toContain(imageRef);
        const after = split(containerIds(env.name));
        expect(after.redis).toEqual(before.redis);
        expect(after.postgres).toEqual(before.postgres);
        expect(after.app).toHaveLength(2);
        expect(after.app.filter((id) => before.app.includes(id))).toEqual([]);
        expect(docker("volume", "inspect", `berth-${env.name}-postgres-data`, "--format", "{{.CreatedAt}}")).toBe(volumesBefore);
        const newVersion = result.outputs.version.value;
        expect(newVersion).not.toBe(version);
        expect(result.outputs.imageRef.value).not.toBe(imageRef);
        expect((await http("GET", `${urls[0]}/`)).json.version).toBe(newVersion);
        expect((await http("GET", `${urls[1]}/rows`)).json.rows.map((r: { note: string }) => r.note)).toContain(note);
    });

    it("a config that fails validation fails preview with the message and changes nothing", async () => {
        const before = containerIds(env.name);
        await env.stack.setConfig("berth:restart", { value: "sometimes" });
        await expect(env.stack.preview({ color: "never" })).rejects.toThrow(
            /invalid config berth:restart = "sometimes": use one of always, unless-stopped, on-failure/,
        );
        await expect(env.stack.up({ color: "never" })).rejects.toThrow(/invalid config berth:restart/);
        // A typo'd key and a missing Dockerfile too: every problem in one run, with no stack trace.
        await env.stack.setConfig("berth:replica", { value: "3" });
        await env.stack.setConfig("berth:dockerfile", { value: "Missing.Dockerfile" });
        const failure = await env.stack.preview({ color: "never" }).then(() => "", (err: Error) => err.message);
        expect(failure).toContain('invalid config berth:restart = "sometimes"');
        expect(failure).toContain('invalid config berth:replica = "(set)": no such key: did you mean berth:replicas?');
        expect(failure).toContain('invalid config berth:dockerfile = "Missing.Dockerfile": no such file in the build context');
        expect(failure).not.toMatch(/Unhandled exception|\n\s+at /);
        // Reported once, not once more as the run's own error.
        expect(failure.split("Diagnostics:")[1]?.match(/invalid config berth:replica =/g)).toHaveLength(1);
        expect(containerIds(env.name)).toEqual(before);
        await env.stack.removeConfig("berth:replica");
        await env.stack.setConfig("berth:dockerfile", { value: "Dockerfile" });
        await env.stack.setConfig("berth:restart", { value: "always" });
    });

    it("`destroy` stops at the protected data; with --exclude-protected nothing else is left; the next `up` finds the data", async () => {
        await expect(env.stack.destroy({ color: "never" })).rejects.toThrow(/protected/);
        expect(dockerObjects(env.name).volumes).toHaveLength(2);
        await env.stack.destroy({ color: "never", excludeProtected: true });
        const left = dockerObjects(env.name);
        expect(left.containers).toEqual([]);
        expect(left.networks).toEqual([]);
        expect(left.volumes.sort()).toEqual([`berth-${env.name}-postgres-data`, `berth-${env.name}-redis-data`]);

        await env.stack.up({ color: "never" });
        expect((await http("GET", `${urls[0]}/rows`)).json.rows.map((r: { note: string }) => r.note)).toContain(note);
    });
});
