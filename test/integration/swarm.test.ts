import * as crypto from "crypto";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "../load";
import { selfSignedCertificate } from "../certificates";
import { appCopy, cleanHosts, dockerAt, http, projectRoot, requestByName, setObjectConfig, testHosts, testRegistry, ThrowawayStack, throwawayStack } from "./harness";

const hostsScript = path.join(projectRoot, "scripts/hosts.sh");

/** The running tasks of a service: id → node. */
function runningTasks(manager: string, service: string): Record<string, string> {
    const out = dockerAt(manager, "service", "ps", service, "--filter", "desired-state=running", "--format", "{{.ID}} {{.Node}} {{.CurrentState}}");
    return Object.fromEntries(out.split("\n").filter((line) => / Running /.test(line)).map((line) => line.split(" ").slice(0, 2)));
}

async function until(what: string, check: () => boolean | Promise<boolean>, seconds = 120): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`not within ${seconds}s: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
}

/**
 * berth:orchestrator swarm on three test hosts that start as bare engines: berth forms the cluster, runs the app as a
 * service with rolling start-first updates behind a global proxy, and its services pinned to their volume's node.
 */
describe("a stack on Docker Swarm", () => {
    let env: ThrowawayStack;
    let engines: string[];
    let urls: string[];
    let goodVersion: string;
    let appService: string;
    const context = appCopy();
    // Web's healthcheck asks for `/` (not /healthz, which needs Redis and Postgres): the app keeps serving while the
    // node holding them is down. The never-healthy release replaces this file.
    const live = path.join(context, "live.js");
    const liveProbe = "require('http').get({ host: '127.0.0.1', port: process.env.PORT, path: '/', timeout: 2000 }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1));\n";
    const redisPassword = crypto.randomBytes(12).toString("hex");

    async function upUnderLoad(url = urls[0]) {
        const load = startLoad(`${url}/`);
        const error = await env.stack.up({ color: "never" }).then(() => undefined, (err: Error) => err);
        return { error, load: await load.stop() };
    }

    beforeAll(async () => {
        engines = await testHosts(3, { swarm: true });
        fs.writeFileSync(live, liveProbe);
        env = await throwawayStack({
            hosts: engines,
            orchestrator: "swarm",
            appContext: context,
            replicas: "2",
            healthcheck: { command: "node live.js", intervalSeconds: 1, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 2 },
            swarmMonitorSeconds: "3",
            // Both services on the third node, with their volumes.
            services: {
                redis: { kind: "redis", image: `${testRegistry}/berth/redis:7`, host: engines[2] },
                postgres: { kind: "postgres", image: `${testRegistry}/berth/postgres:15`, host: engines[2] },
            },
        }, { redisPassword });
        const { outputs } = await env.stack.up({ color: "never" });
        urls = outputs.urls.value;
        goodVersion = outputs.version.value;
        appService = outputs.containers.value[0];
    });
    afterAll(async () => {
        await env?.remove();
        if (engines) cleanHosts(engines, env.name);
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("forms the cluster from bare hosts and serves the app from every node; its credentials are in no spec; a second up changes nothing", async () => {
        expect(dockerAt(engines[0], "node", "ls", "--format", "{{.Hostname}} {{.Status}}").split("\n").sort()).toEqual(["h1 Ready", "h2 Ready", "h3 Ready"]);
        expect(urls).toHaveLength(3);
        for (const url of urls) {
            const { status, json } = await http("GET", `${url}/`);
            expect([status, json.version]).toEqual([200, goodVersion]);
        }
        // The app's environment reached it: Redis (with its password) and Postgres answer through it.
        expect((await http("POST", `${urls[1]}/hits`)).status).toBe(200);
        expect((await http("GET", `${urls[2]}/healthz`)).json).toEqual({ status: "ok" });
        expect(Object.keys(runningTasks(engines[0], appService))).toHaveLength(2);
        const spec = dockerAt(engines[0], "service", "inspect", appService, `berth-${env.name}-redis`);
        expect(spec).not.toContain(redisPassword);
        expect(JSON.parse(dockerAt(engines[0], "service", "inspect", appService, "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"))).toEqual([`PORT=8080`]);
        expect(spec).toMatch(/"SecretName": "berth-it-[0-9a-f]+-shop-env-[0-9a-f]{12}"/);
        // The pinned services run on the node that holds their volumes.
        expect(Object.values(runningTasks(engines[0], `berth-${env.name}-redis`))).toEqual(["h3"]);
        expect(dockerAt(engines[2], "volume", "ls", "--format", "{{.Name}}")).toContain(`berth-${env.name}-redis-data`);
        const again = await env.stack.up({ color: "never", expectNoChanges: true });
        expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
    });

    it("serves the stack's names on every node's front door with its own certificate (tls manual), then lets them go", async () => {
        const name = `swarm-${env.name}.test`;
        const own = selfSignedCertificate(name);
        await setObjectConfig(env.stack, "domains", [name]);
        await env.stack.setAllConfig({
            "berth:tls": { value: "manual" },
            "berth:tlsCertificate": { value: own.certificate, secret: true },
            "berth:tlsPrivateKey": { value: own.privateKey, secret: true },
        });
        expect((await env.stack.up({ color: "never" })).outputs.urls.value).toEqual([`https://${name}/`]);
        for (const engine of engines) {
            const answer = requestByName(`https://${name}/request`, own.certificate, engine.replace(/^ssh:\/\/[^@]+@/, ""));
            expect(answer.status, engine).toBe(200);
            expect(JSON.parse(answer.body)).toMatchObject({ proto: "https", host: name });
        }
        const again = await env.stack.preview({ color: "never", diff: true });
        expect(Object.keys(again.changeSummary).filter((k) => k !== "same")).toEqual([]);
        for (const key of ["berth:domains", "berth:tls", "berth:tlsCertificate", "berth:tlsPrivateKey"]) await env.stack.removeConfig(key);
        urls = (await env.stack.up({ color: "never" })).outputs.urls.value;
        expect(requestByName(`http://${name}/`, own.certificate, engines[1].replace(/^ssh:\/\/[^@]+@/, "")).status).toBe(404);
    });

    it("rolls a code change and a new secret variable out under load with no failed request; the old secret goes", async () => {
        const secrets = () => dockerAt(engines[0], "secret", "ls", "--format", "{{.Name}}", "--filter", `label=berth.stack=${env.name}`).split("\n").filter((n) => n.includes("-shop-env-"));
        const [before] = secrets();
        fs.appendFileSync(path.join(context, "server.js"), "\n// release 2\n");
        await env.stack.setAllConfig({ "berth:secretEnv.API_TOKEN": { value: crypto.randomBytes(12).toString("hex"), secret: true } }, true);
        const { error, load } = await upUnderLoad();
        expect(error).toBeUndefined();
        expect(load.failures).toEqual({});
        expect(load.total).toBeGreaterThan(300);
        const version = (await env.stack.outputs()).version.value;
        expect(version).not.toBe(goodVersion);
        expect(new Set(load.answers.slice(-50).map((a) => a.version))).toEqual(new Set([version]));
        // Secrets cannot change: a new one was added, the service moved to it, the old one removed.
        expect(secrets()).toHaveLength(1);
        expect(secrets()[0]).not.toBe(before);
        goodVersion = version;
    });

    it("a release that never gets healthy fails up; Swarm rolls it back and the old version serves throughout", async () => {
        const imageBefore = dockerAt(engines[0], "service", "inspect", appService, "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}");
        fs.writeFileSync(live, "process.exit(1); // never healthy\n");
        const { error, load } = await upUnderLoad();
        expect(error?.message).toMatch(/Swarm rolled the update back/);
        expect(load.failures).toEqual({});
        expect(new Set(load.answers.map((a) => a.version))).toEqual(new Set([goodVersion]));
        // Swarm's spec is the old one again, and so are all its running tasks (the rollback may have moved one).
        expect(dockerAt(engines[0], "service", "inspect", appService, "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}")).toBe(imageBefore);
        await until("two tasks of the old release", () => {
            const images = dockerAt(engines[0], "service", "ps", appService, "--filter", "desired-state=running", "--format", "{{.Image}} {{.CurrentState}}").split("\n");
            return images.length === 2 && images.every((line) => line.startsWith(`${imageBefore} Running`));
        });
        // refresh records what Swarm runs: the old release.
        await env.stack.refresh({ color: "never" });
        const web = (await env.stack.exportStack()).deployment.resources.find((r: any) => r.urn.endsWith(`::${env.name}-app-web`));
        expect(web.outputs.runningImage).toBe(imageBefore);
        fs.writeFileSync(live, liveProbe);
        const again = await env.stack.up({ color: "never" });
        expect(again.outputs.version.value).toBe(goodVersion);
        expect((await http("GET", `${urls[0]}/`)).json.version).toBe(goodVersion);
    });

    it("scales 2 → 6 → 2 by config in place: the running tasks stay", async () => {
        const before = runningTasks(engines[0], appService);
        await env.stack.setConfig("berth:replicas", { value: "6" });
        const up = await env.stack.up({ color: "never" });
        expect(up.summary.resourceChanges).toMatchObject({ update: 1 });
        const scaled = runningTasks(engines[0], appService);
        expect(Object.keys(scaled)).toHaveLength(6);
        expect(scaled).toMatchObject(before);
        expect(new Set(Object.values(scaled)).size).toBe(3);
        await env.stack.setConfig("berth:replicas", { value: "2" });
        await env.stack.up({ color: "never" });
        const after = runningTasks(engines[0], appService);
        expect(Object.keys(after)).toHaveLength(2);
        expect(Object.keys(after).every((id) => id in scaled)).toBe(true);
    });

    it("a drained node's tasks move and a stopped node's are rescheduled; the app keeps answering; a pinned service's data survives", async () => {
        const drain = startLoad(`${urls[0]}/`);
        dockerAt(engines[0], "node", "update", "--availability", "drain", "h2");
        await until("no task on the drained node", () => !Object.values(runningTasks(engines[0], appService)).includes("h2") && Object.keys(runningTasks(engines[0], appService)).length === 2);
        const drained = await drain.stop();
        expect(drained.failures).toEqual({});
        dockerAt(engines[0], "node", "update", "--availability", "active", "h2");

        // Swarm does not move tasks back after a drain: if the app's tasks all ended up on the node about to stop, spread
        // them again first, as an operator does after a drain (the test is about a node lost, not the app's last replica).
        const onlyOnH3 = () => Object.values(runningTasks(engines[0], appService)).every((node) => node === "h3");
        if (onlyOnH3()) dockerAt(engines[0], "service", "update", "--force", "--quiet", appService);
        await until("an app task off the node about to stop", () => Object.keys(runningTasks(engines[0], appService)).length === 2 && !onlyOnH3());
        // Swarm puts a task in the service's DNS only once it is healthy (a task just spread by the update may not be
        // yet): until both answer through the proxy, h3's task could be the only one there, and stopping h3 would
        // test an app with no replica.
        await until("both app tasks answering through the proxy", async () => {
            const hostnames = new Set<string>();
            for (let i = 0; i < 20; i++) hostnames.add((await http("GET", `${urls[0]}/`)).json.hostname);
            return hostnames.size === 2;
        });
        console.log("app tasks before h3 stops:", JSON.stringify(runningTasks(engines[0], appService)));
        const hits = (await http("POST", `${urls[0]}/hits`)).json.hits;
        const outage = startLoad(`${urls[0]}/`, 8, 240);
        const stoppedAt = Date.now();
        execFileSync("bash", [hostsScript, "stop", "h3"]);
        try {
            await until("the app's tasks rescheduled off the stopped node", () => {
                const tasks = runningTasks(engines[0], appService);
                return Object.keys(tasks).length === 2 && !Object.values(tasks).includes("h3");
            }, 180);
            const during = await outage.stop();
            // On a failure, what the proxy on h1 tried (its log can be incomplete while a node is down) and where the
            // tasks were, in the assertion's own message: a CI run shows that line.
            const diagnostics = during.failed > 0 ? [
                spawnSync("docker", ["--host", engines[0], "service", "logs", "--timestamps", "--tail", "40", `berth-${env.name}-proxy`], { encoding: "utf8" }).stdout,
                spawnSync("docker", ["--host", engines[0], "service", "ps", "--no-trunc", appService], { encoding: "utf8" }).stdout,
                `h3 stopped at ${stoppedAt}; failures at ${JSON.stringify(during.failedAt)}`,
            ].join("\n") : "";
            expect(during.total).toBeGreaterThan(100);
            expect(during.failures, diagnostics).toEqual({});
        } finally {
            // Whatever happened, the node comes back: the next test needs it (and its Redis volume).
            execFileSync("bash", [hostsScript, "start", "h3"]);
        }
        // Every app task reconnects to Redis on its own; the counter goes on from where it was (a lost volume would restart it at 1).
        // Ten in a row through the proxy: every task has reconnected, not just the first one asked.
        await until("Redis back on its node, its data with it, every app task reconnected", async () => {
            for (let i = 0; i < 10; i++) {
                if (((await http("POST", `${urls[0]}/hits`).catch(() => ({ json: undefined }))).json?.hits ?? 0) <= hits) return false;
            }
            return true;
        }, 180);
        const again = await env.stack.up({ color: "never", expectNoChanges: true });
        expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
    });

    it("moves back to berth:orchestrator hosts only once the swarm's services are gone: never two servers on one volume, and the data comes along", async () => {
        const hits = (await http("POST", `${urls[0]}/hits`)).json.hits;
        // On hosts: a replica on each, each host's proxy on its own address.
        await env.stack.setAllConfig({ "berth:orchestrator": { value: "hosts" }, "berth:replicas": { value: "3" }, "berth:bindAddress": { value: "0.0.0.0" } });
        // The swarm's network and Redis's task (holding its volume on h3) are still there: refused, naming the way.
        const refused = await env.stack.up({ color: "never" }).then(() => undefined, (err: Error) => err);
        expect(refused?.message).toMatch(/(is an overlay network, not the bridge one|is in use by berth-it-[0-9a-f]+-(redis|postgres)\.1\.[a-z0-9]+: two servers must never share one data directory)[^]*destroy --stack <stack> --exclude-protected/);
        expect(Object.values(runningTasks(engines[0], `berth-${env.name}-redis`))).toEqual(["h3"]);
        await env.stack.destroy({ color: "never", excludeProtected: true });
        const { outputs } = await env.stack.up({ color: "never" });
        expect(dockerAt(engines[0], "service", "ls", "--quiet", "--filter", `label=berth.stack=${env.name}`)).toBe("");
        expect((await http("POST", `${outputs.urls.value[0]}/hits`)).json.hits).toBe(hits + 1);
    });
});
