import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerObjects, http, ThrowawayStack, throwawayStack } from "./harness";

describe("a stack on the real engine: app + Redis + Postgres", () => {
    let env: ThrowawayStack;
    let url: string;
    let version: string;

    beforeAll(async () => {
        env = await throwawayStack({ restart: "on-failure:3", memory: "200m", cpus: "0.5" });
    });
    afterAll(async () => {
        await env?.remove();
    });

    it("`up` builds, pushes and runs the app, which answers with its version", async () => {
        const result = await env.stack.up({ color: "never" });
        expect(result.summary.result).toBe("succeeded");
        url = result.outputs.url.value;
        version = result.outputs.version.value;
        expect(result.outputs.imageRef.value).toMatch(/^127\.0\.0\.1:\d+\/shop\/main@sha256:[0-9a-f]{64}$/);

        expect((await http("GET", `${url}/healthz`)).status).toBe(200);
        const root = await http("GET", `${url}/`);
        expect(root.status).toBe(200);
        expect(root.json.version).toBe(version);
    });

    it("the app talks to Redis and Postgres", async () => {
        const first = await http("POST", `${url}/hits`);
        const second = await http("POST", `${url}/hits`);
        expect(second.json.hits).toBe(first.json.hits + 1);

        const note = `row from ${env.name}`;
        expect((await http("POST", `${url}/rows`, { note })).status).toBe(201);
        const rows = await http("GET", `${url}/rows`);
        expect(rows.json.rows.map((r: { note: string }) => r.note)).toContain(note);
    });

    it("containers carry the restart policy, limits, healthcheck, network and labels asked for", () => {
        const [app] = dockerObjects(env.name).containers.filter((n) => n.includes("-shop-"));
        const inspected = JSON.parse(docker("inspect", app))[0];
        expect(inspected.HostConfig.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 3 });
        expect(inspected.HostConfig.Memory).toBe(200 * 1024 ** 2);
        expect(inspected.HostConfig.NanoCpus).toBe(0.5e9);
        expect(inspected.State.Health.Status).toBe("healthy");
        expect(Object.keys(inspected.NetworkSettings.Networks)).toEqual([`berth-${env.name}-net`]);
        expect(inspected.Config.Labels).toMatchObject({ "berth.stack": env.name, "berth.role": "app", "berth.app": "shop" });
        expect(inspected.Config.Image).toMatch(/@sha256:/);
    });

    it("a second `up` with nothing changed changes nothing", async () => {
        const result = await env.stack.up({ color: "never", expectNoChanges: true });
        expect(Object.keys(result.summary.resourceChanges ?? {})).toEqual(["same"]);
    });

    it("`destroy` leaves no container or network behind, and keeps the data volumes", async () => {
        await env.stack.destroy({ color: "never" });
        const left = dockerObjects(env.name);
        expect(left.containers).toEqual([]);
        expect(left.networks).toEqual([]);
        expect(left.volumes.sort()).toEqual([`berth-${env.name}-postgres-data`, `berth-${env.name}-redis-data`]);
    });
});
