import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerObjects, setObjectConfig, ThrowawayStack, throwawayStack } from "./harness";

const digest = "127.0.0.1:5000/shop/main@sha256:" + "0".repeat(64);

/** The preview's error output ("" when it passes) and how long it took. */
async function preview(env: ThrowawayStack): Promise<{ failure: string; seconds: number }> {
    const started = Date.now();
    try {
        await env.stack.preview({ color: "never" });
        return { failure: "", seconds: (Date.now() - started) / 1000 };
    } catch (err) {
        return { failure: String((err as Error).message), seconds: (Date.now() - started) / 1000 };
    }
}

describe("hostile or careless config, refused at preview through the engine", () => {
    let env: ThrowawayStack;

    beforeAll(async () => {
        env = await throwawayStack({ image: digest });
    });
    afterAll(async () => {
        await env?.remove();
    });

    it("a data path that would mount the host's root is refused, naming the key, and nothing is created", async () => {
        await setObjectConfig(env.stack, "services", { files: { kind: "custom", image: "berth/redis:7", port: 6379, dataPath: "/data,type=bind,source=/" } });
        try {
            const { failure } = await preview(env);
            expect(failure).toContain('invalid config berth:services.files.dataPath = "/data,type=bind,source=/"');
            expect(failure).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
            expect(dockerObjects(env.name)).toEqual({ containers: [], networks: [], volumes: [] });
        } finally {
            await env.stack.removeConfig("berth:services");
        }
    });

    it("a secret build arg is refused at preview, its value nowhere in the output or the state", async () => {
        const token = `npm_${Date.now()}secretvalue`;
        await env.stack.setConfig("berth:buildArgs.NPM_TOKEN", { value: token, secret: true }, true);
        try {
            const { failure } = await preview(env);
            expect(failure).toContain('invalid config berth:buildArgs = "(secret)": berth reads this key as plain text');
            expect(failure).not.toContain(token);
            expect(JSON.stringify(await env.stack.exportStack())).not.toContain(token);
        } finally {
            await env.stack.removeConfig("berth:buildArgs");
        }
    });

    it("hosts whose names do not resolve fail preview in seconds, each named", async () => {
        await setObjectConfig(env.stack, "hosts", ["ssh://deploy@prod-1.berth-test.invalid", "ssh://deploy@prod-2.berth-test.invalid"]);
        await env.stack.setConfig("berth:registry", { value: "registry.berth-test.invalid:5000" });
        await env.stack.setConfig("berth:replicas", { value: "2" });
        await setObjectConfig(env.stack, "services", { redis: { kind: "redis" }, postgres: { kind: "postgres", host: "ssh://deploy@prod-2.berth-test.invalid" } });
        // Services on the second host: their addresses are looked up too (where the hang was).
        for (const service of ["redis", "postgres"]) await env.stack.setConfig(`berth:${service}Password`, { value: "not-a-real-one", secret: true });
        try {
            const { failure, seconds } = await preview(env);
            expect(failure).toContain("prod-1.berth-test.invalid");
            expect(failure).toContain("prod-2.berth-test.invalid");
            expect(failure).toMatch(/does not resolve/);
            expect(failure).not.toMatch(/Unhandled exception/);
            expect(seconds).toBeLessThan(30);
        } finally {
            for (const key of ["berth:hosts", "berth:registry", "berth:replicas", "berth:services", "berth:redisPassword", "berth:postgresPassword"]) await env.stack.removeConfig(key);
        }
    });
});

describe("two stacks whose Docker names would be the same", () => {
    const first = `it-${Date.now().toString(36)}-b`;
    let second: ThrowawayStack;

    beforeAll(async () => {
        // Stack <x>-b's network as berth made it; stack <x>_b would give its objects the same names.
        docker("network", "create", "--label", `berth.stack=${first}`, `berth-${first}-net`);
        second = await throwawayStack({ image: digest }, {}, { name: first.replace(/-b$/, "_b") });
    });
    afterAll(async () => {
        await second?.remove();
        docker("network", "rm", `berth-${first}-net`);
    });

    it("the second is refused at preview and at up, naming the first; none of its containers starts, the first's network is untouched", async () => {
        const { failure } = await preview(second);
        expect(failure).toContain(`stack ${second.name} would name its Docker objects berth-${first}-…, as stack ${first} already does on the local engine: two stacks must never share a network or a data volume`);
        expect(dockerObjects(second.name)).toEqual({ containers: [], networks: [], volumes: [] });
        // `up` is refused too: the network under both stacks' name is never used, so no container of the second starts.
        await expect(second.stack.up({ color: "never" })).rejects.toThrow(`network berth-${first}-net on the local engine belongs to stack ${first}, not ${second.name}: berth did not use it`);
        expect(dockerObjects(second.name).containers).toEqual([]);
        expect(docker("network", "inspect", "--format", "{{len .Containers}} {{index .Labels \"berth.stack\"}}", `berth-${first}-net`)).toBe(`0 ${first}`);
    });
});
