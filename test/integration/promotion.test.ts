import * as fs from "fs";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withRegistryLogin } from "../../components/docker/providers/image";
import { appCopy, docker, dockerObjects, http, ThrowawayStack, throwawayStack, withPolicies } from "./harness";

/** Points `tag` at `imageRef` (built on this engine) in the registry, through berth's own throw-away login. */
async function moveTag(imageRef: string, tag: string): Promise<void> {
    const login = { server: process.env.BERTH_REGISTRY!, username: process.env.BERTH_REGISTRY_USER!, password: fs.readFileSync(process.env.BERTH_REGISTRY_PASSWORD_FILE!, "utf8").trim() };
    await withRegistryLogin("", login, async (loggedIn) => {
        docker("tag", imageRef, tag);
        await loggedIn(["push", "--quiet", tag]);
    });
}

describe("promotion and rollback are config edits", () => {
    let staging: ThrowawayStack;
    let production: ThrowawayStack;
    let tagged: ThrowawayStack;
    const context = appCopy();
    const builds: { imageRef: string; version: string }[] = [];

    beforeAll(async () => {
        staging = await throwawayStack({ appContext: context });
    });
    afterAll(async () => {
        await tagged?.remove();
        await production?.remove();
        await staging?.remove();
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("staging builds two releases and outputs their digests", async () => {
        for (const change of ["", "\n// release 2\n"]) {
            fs.appendFileSync(path.join(context, "server.js"), change);
            const { outputs } = await staging.stack.up({ color: "never" });
            builds.push({ imageRef: outputs.imageRef.value, version: outputs.version.value });
        }
        expect(builds[0].imageRef).not.toBe(builds[1].imageRef);
    });

    it("production deploys staging's first digest without building", async () => {
        // Like Pulumi.production.yaml: the proxy serves every interface of the host.
        production = await throwawayStack({ image: builds[0].imageRef, replicas: "2", bindAddress: "0.0.0.0" });
        const { outputs } = await production.stack.up({ color: "never" });
        expect(outputs.imageRef.value).toBe(builds[0].imageRef);
        const proxy = dockerObjects(production.name).containers.find((n) => n.includes("-proxy-"))!;
        // It listens on every interface itself, on the host's network.
        const inspected = JSON.parse(docker("inspect", proxy))[0];
        expect([inspected.HostConfig.NetworkMode, inspected.Config.Env]).toEqual(["host", expect.arrayContaining([expect.stringMatching(/^BERTH_LISTEN=0\.0\.0\.0:\d+$/)])]);
        for (const url of outputs.urls.value) {
            expect((await http("GET", `${url}/`)).json.version).toBe(builds[0].version);
        }
    });

    it("previewing a new digest shows exactly the app containers replaced (the proxy rerouted, the release recorded), nothing else", async () => {
        await production.stack.setConfig("berth:image", { value: builds[1].imageRef });
        const changed: { op: string; type: string; urn: string }[] = [];
        // With berth's policy pack, production being this stack: a digest promotion passes every guardrail.
        const preview = await production.stack.preview({
            color: "never",
            ...withPolicies([production.name]),
            onEvent: (event: EngineEvent) => {
                const step = event.resourcePreEvent?.metadata;
                // The dynamic-provider plugin is handed the stack's config, so any config edit "updates" it; that
                // touches no resource, and the summary leaves providers out as well.
                if (step && step.op !== "same" && !step.type.startsWith("pulumi:providers:")) {
                    changed.push({ op: step.op, type: step.type, urn: step.urn });
                }
            },
        });
        expect(preview.changeSummary).toEqual({ same: expect.any(Number), replace: 2, update: 2 });
        const replaced = changed.filter((c) => c.type === "pulumi-nodejs:dynamic/berth:DockerContainer");
        expect(new Set(replaced.map((c) => c.urn.split("::").pop()))).toEqual(new Set([`${production.name}-app-1`, `${production.name}-app-2`]));
        expect(changed.filter((c) => !replaced.includes(c)).map((c) => [c.op, c.urn.split("::").pop()]).sort()).toEqual([
            ["update", `${production.name}-proxy-routes`],
            ["update", `${production.name}-releases`],
        ]);
    });

    it("`up` promotes; setting the previous digest back rolls back", async () => {
        const promoted = await production.stack.up({ color: "never" });
        const urls: string[] = promoted.outputs.urls.value;
        expect((await http("GET", `${urls[0]}/`)).json.version).toBe(builds[1].version);

        await production.stack.setConfig("berth:image", { value: builds[0].imageRef });
        const started = Date.now();
        await production.stack.up({ color: "never" });
        console.log(`rollback (2 replicas) took ${((Date.now() - started) / 1000).toFixed(1)}s`);
        for (const url of urls) {
            expect((await http("GET", `${url}/`)).json.version).toBe(builds[0].version);
        }
    });

    it("two stacks on one engine cannot see each other's services", () => {
        const productionApp = dockerObjects(production.name).containers.find((n) => n.includes("-shop-"))!;
        const stagingPostgres = dockerObjects(staging.name).containers.find((n) => n.includes("-postgres-"))!;
        const resolves = (host: string) =>
            docker("exec", productionApp, "node", "-e", `require("dns").lookup("${host}", (e) => console.log(e ? "no" : "yes"))`);
        expect(resolves("postgres")).toBe("yes"); // its own
        expect(resolves(stagingPostgres)).toBe("no");
    });

    it("a moving tag redeploys when it moves (no `latest` that never updates)", async () => {
        // A tag CI moves to each new build, as teams do with `latest`.
        const movingTag = builds[1].imageRef.replace(/@sha256:.*$/, ":latest");
        await moveTag(builds[1].imageRef, movingTag);
        tagged = await throwawayStack({ image: movingTag });
        const first = await tagged.stack.up({ color: "never" });
        expect((await http("GET", `${first.outputs.url.value}/`)).json.version).toBe(builds[1].version);

        fs.appendFileSync(path.join(context, "server.js"), "\n// release 3\n");
        const release3Outputs = (await staging.stack.up({ color: "never" })).outputs;
        const release3 = release3Outputs.version.value;
        await moveTag(release3Outputs.imageRef.value, movingTag);

        const preview = await tagged.stack.preview({ color: "never" });
        expect(preview.changeSummary).toMatchObject({ replace: 1 });
        const second = await tagged.stack.up({ color: "never" });
        expect((await http("GET", `${second.outputs.url.value}/`)).json.version).toBe(release3);
    });
});
