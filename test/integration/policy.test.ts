import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as yaml from "js-yaml";
import { devServices, docker, dockerObjects, projectRoot, setObjectConfig, testHosts, testRegistry, ThrowawayStack, throwawayStack, withPolicies } from "./harness";

const digest = "127.0.0.1:5000/shop/main@sha256:" + "0".repeat(64);

/** The preview's output when it fails (violations print to stdout), else "" */
async function previewFailure(env: ThrowawayStack, options: object): Promise<string> {
    try {
        await env.stack.preview({ color: "never", ...options });
        return "";
    } catch (err) {
        return String((err as Error).message);
    }
}

describe("berth's policy pack, through the engine (pulumi preview --policy-pack)", () => {
    let berth: ThrowawayStack;
    let fixture: ThrowawayStack;

    beforeAll(async () => {
        berth = await throwawayStack({ image: digest });
        fixture = await throwawayStack({}, {}, { workDir: path.join(projectRoot, "test/policy/fixture") });
    });
    afterAll(async () => {
        await berth?.remove();
        await fixture?.remove();
    });

    it("berth's own production program passes every policy", async () => {
        expect(await previewFailure(berth, withPolicies([berth.name]))).toBe("");
    });

    it.each([
        ["a mutable tag in production", { "berth:image": "127.0.0.1:5000/shop/main:latest" }, [
            ["production-images-pinned-by-digest", /a mutable tag in production stack .*: promote the digest staging built/],
        ]],
        // Three policies' violations in one preview (each preview costs seconds), each finding checked.
        ["a build in production, with a token in build args, no restart policy and no memory limit",
            { "berth:image": "", "berth:buildArgs": { NPM_TOKEN: "npm_abc123" }, "berth:restart": "no", "berth:memory": "0" }, [
                ["production-images-pinned-by-digest", /builds and pushes .* in production stack/],
                ["credentials-are-secrets", /credential in buildArgs.NPM_TOKEN, which is never encrypted/],
                ["app-containers-restart-healthcheck-memory", /has no restart policy: set berth:restart[\s\S]*has no memory limit: set berth:memory/],
            ]],
    ] as [string, Record<string, string | object>, [string, RegExp][]][])("%s fails the preview with the policy's fix", async (_what, config, findings) => {
        const original = await berth.stack.getAllConfig();
        for (const [key, value] of Object.entries(config)) {
            if (typeof value === "string") await berth.stack.setConfig(key, { value });
            else await setObjectConfig(berth.stack, key.replace("berth:", ""), value);
        }
        try {
            const failure = await previewFailure(berth, withPolicies([berth.name]));
            for (const [policy, message] of findings) {
                expect(failure).toContain(`[mandatory]  ${policy}`);
                expect(failure).toMatch(message);
            }
        } finally {
            for (const [key, value] of Object.entries(config)) {
                // Objects go back to Pulumi.yaml's default by removal; strings to what they were.
                if (typeof value === "string" && original[key]) await berth.stack.setConfig(key, original[key]);
                else await berth.stack.removeConfig(key);
            }
        }
    });

    it("`npm run check` prints the diff and exits non-zero on a violation, zero when clean", () => {
        const check = () => spawnSync("npm", ["run", "--silent", "check", "--", "--stack", berth.name, "--policy-pack-config", withPolicies([berth.name]).policyPackConfigs[0]],
            { cwd: projectRoot, encoding: "utf8", env: { ...process.env, ...berth.envVars } });
        const clean = check();
        expect(clean.status).toBe(0);
        expect(clean.stdout).toMatch(/\+ pulumi-nodejs:dynamic\/berth:DockerContainer: \(create\)/);
        expect(clean.stdout).toContain("berth|local|policy");

        execFileSync("pulumi", ["config", "set", "berth:image", "127.0.0.1:5000/shop/main:latest", "--stack", berth.name], { cwd: projectRoot, env: { ...process.env, ...berth.envVars } });
        try {
            const violating = check();
            expect(violating.status).not.toBe(0);
            expect(violating.stdout).toMatch(/\+ pulumi-nodejs:dynamic\/berth:PulledImage: \(create\)/);
            expect(violating.stdout).toContain("[mandatory]  production-images-pinned-by-digest");
        } finally {
            execFileSync("pulumi", ["config", "set", "berth:image", digest, "--stack", berth.name], { cwd: projectRoot, env: { ...process.env, ...berth.envVars } });
        }
    });

    it("a password kept in plaintext config fails before any resource, without printing it", async () => {
        // berth's own check, for every service's password (Pulumi.yaml declares none: each is asked for only where
        // its service exists), here a MySQL named "orders" and the Postgres of the dev services.
        const withOrders = await throwawayStack({ image: digest, services: { ...devServices, orders: { kind: "mysql", image: "berth/mysql:8" } } });
        try {
            await withOrders.stack.setConfig("berth:ordersPassword", { value: "orders-plaintext-pw", secret: false });
            const failure = await previewFailure(withOrders, {});
            expect(failure).toContain('invalid config berth:ordersPassword = "(hidden)": stored in plaintext in the stack\'s config; encrypt it with `pulumi config set --secret berth:ordersPassword`');
            expect(failure).not.toContain("orders-plaintext-pw");

            await withOrders.stack.setConfig("berth:ordersPassword", { value: "orders-secret-pw", secret: true });
            await withOrders.stack.setConfig("berth:postgresPassword", { value: "postgres-plaintext-pw", secret: false });
            const postgres = await previewFailure(withOrders, {});
            expect(postgres).toContain('invalid config berth:postgresPassword = "(hidden)": stored in plaintext in the stack\'s config');
            expect(postgres).not.toContain("postgres-plaintext-pw");
            expect(dockerObjects(withOrders.name)).toEqual({ containers: [], networks: [], volumes: [] });
        } finally {
            await withOrders.remove();
        }
    });

    // Each preview costs seconds: the violations go in one program, each finding still checked.
    it.each([
        ["clean", [], []],
        ["docker-socket,host-network,unprotected-volume", ["no-host-access", "data-volumes-protected"], [
            /mounts the Docker socket \(\/var\/run\/docker.sock\): remove it/,
            /uses the host network: remove it/,
            /data volume berth-it-\w+-postgres-data \(postgres\) is not protected: declare it with `protect: true`/,
        ]],
    ])("a hand-written program, scenario %s", async (scenario, policies: string[], messages: RegExp[]) => {
        await fixture.stack.setConfig("fixture:scenario", { value: scenario });
        const failure = await previewFailure(fixture, withPolicies([]));
        if (policies.length === 0) expect(failure).toBe("");
        for (const policy of policies) expect(failure).toContain(`[mandatory]  ${policy}`);
        for (const message of messages) expect(failure).toMatch(message);
    });

    it.each([
        ["throws while loading", 'throw new Error("policy pack has a bug");\n', /policy pack .* failed to start[\s\S]*policy pack has a bug|policy pack has a bug/],
        ["lacks its dependencies", null, /failed to start: .*@pulumi\/pulumi is not installed for the policy pack in .*: run npm install/],
    ])("a policy pack that %s fails `up` clearly and changes nothing", async (_what, code, message) => {
        // Inside the project, a pack resolves the project's @pulumi/pulumi; in the system temp dir it finds none.
        if (code) fs.mkdirSync(path.join(projectRoot, ".berth"), { recursive: true });
        const broken = fs.mkdtempSync(path.join(code ? path.join(projectRoot, ".berth") : os.tmpdir(), "broken-policy-"));
        fs.writeFileSync(path.join(broken, "PulumiPolicy.yaml"), "runtime: nodejs\n");
        fs.writeFileSync(path.join(broken, "package.json"), JSON.stringify({ name: "broken", version: "0.0.1", main: "index.js" }));
        fs.writeFileSync(path.join(broken, "index.js"), code ?? "");
        try {
            await expect(berth.stack.up({ color: "never", policyPacks: [broken] })).rejects.toThrow(message);
            expect(dockerObjects(berth.name)).toEqual({ containers: [], networks: [], volumes: [] });
            expect(docker("image", "ls", "-q", "--filter", `label=berth.built-by=${berth.name}`)).toBe("");
        } finally {
            fs.rmSync(broken, { recursive: true, force: true });
        }
    });
});

describe("the committed production stack's own PR check", () => {
    let production: ThrowawayStack;

    beforeAll(async () => {
        // Pulumi.production.yaml as committed, pointed at three test hosts and their registry: the only change.
        const committed = (yaml.load(fs.readFileSync(path.join(projectRoot, "Pulumi.production.yaml"), "utf8")) as { config: Record<string, any> }).config;
        const hosts = await testHosts(3);
        const onTestHosts = JSON.parse(JSON.stringify(committed)
            .replaceAll("registry.internal:5000", testRegistry)
            .replace(/ssh:\/\/deploy@prod-(\d)\.internal/g, (_m, n: string) => hosts[Number(n) - 1]));
        onTestHosts["berth:services"].redis.image = `${testRegistry}/berth/redis:7`;
        onTestHosts["berth:services"].postgres.image = `${testRegistry}/berth/postgres:15`;
        const config: Record<string, string | object> = Object.fromEntries(Object.entries(onTestHosts).map(([key, value]) => [key.replace(/^berth:/, ""), typeof value === "object" && value !== null ? value : String(value)]));
        production = await throwawayStack(config, { redisPassword: "redis-pw-1", postgresPassword: "postgres-pw-1" });
    });
    afterAll(async () => {
        await production?.remove();
    });

    it("passes `npm run check` with every mandatory policy: berth's proxy image is content-pinned, nothing of the app is built", () => {
        const check = spawnSync("npm", ["run", "--silent", "check", "--", "--stack", production.name, "--policy-pack-config", withPolicies([production.name]).policyPackConfigs[0]],
            { cwd: projectRoot, encoding: "utf8", env: { ...process.env, ...production.envVars } });
        expect(check.stdout + check.stderr).not.toContain("[mandatory]");
        if (check.status !== 0) console.log(check.stdout.slice(-3000), check.stderr.slice(-2000));
        expect(check.status).toBe(0);
        expect(check.stdout).toMatch(/\+ pulumi-nodejs:dynamic\/berth:DockerImage: \(create\)[\s\S]*berth\/proxy/);
    });
});
