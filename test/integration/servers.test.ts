import * as crypto from "crypto";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "../load";
import { appCopy, dockerAt, http, setObjectConfig, testHosts, testRegistry, ThrowawayStack, throwawayStack } from "./harness";

const hostsDir = path.join(os.homedir(), ".cache", "berth", "hosts");
/** SSH logins a test host's sshd has accepted so far: each one is a full handshake. */
const handshakes = (host: string) => (fs.readFileSync(path.join(hostsDir, host, "log", "sshd.log"), "utf8").match(/Accepted publickey/g) ?? []).length;
const address = (engine: string) => engine.replace(/^ssh:\/\/[^@]+@/, "");
/** Ends berth's multiplexed connection to a host, so the next run starts from none. */
const closeConnection = (engine: string) =>
    execFileSync("ssh", ["-o", `ControlPath=${os.homedir()}/.ssh/berth-mux-%C`, "-O", "exit", `deploy@${address(engine)}`], { stdio: "ignore" });

/** berth:hosts: a stack on two machines reached over SSH, with the hosts' own registry (TLS) and services on the first. */
describe("a stack on two hosts over SSH", () => {
    let env: ThrowawayStack;
    let engines: string[];
    let urls: string[];
    let imageRef: string;
    const context = appCopy();
    const labelled = (engine: string, ...filters: string[]) =>
        dockerAt(engine, "ps", "--filter", `label=berth.stack=${env.name}`, ...filters.flatMap((f) => ["--filter", f]), "--format", "{{.Names}}").split("\n").filter(Boolean);
    const caFile = (host: string) => path.join(hostsDir, host, "etc-docker", "certs.d", testRegistry, "ca.crt");

    beforeAll(async () => {
        engines = testHosts(3).slice(0, 2);
        env = await throwawayStack({
            appContext: context,
            hosts: engines,
            registry: testRegistry,
            replicas: "3",
            bindAddress: "0.0.0.0",
            services: {
                redis: { kind: "redis", image: `${testRegistry}/berth/redis:7` },
                postgres: { kind: "postgres", image: `${testRegistry}/berth/postgres:15` },
            },
        }, { redisPassword: crypto.randomBytes(12).toString("hex") });
        const outputs = (await env.stack.up({ color: "never" })).outputs;
        urls = outputs.urls.value;
        imageRef = outputs.imageRef.value;
    });
    afterAll(async () => {
        await env?.remove();
        for (const engine of engines ?? []) {
            for (const kind of ["container", "network", "volume"] as const) {
                const ids = dockerAt(engine, kind, "ls", ...(kind === "container" ? ["-a"] : []), "-q", "--filter", `label=berth.stack=${env.name}`).split("\n").filter(Boolean);
                if (ids.length > 0) dockerAt(engine, kind, "rm", ...(kind === "container" ? ["-f"] : []), ...ids);
            }
        }
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("builds once here; each host pulls by digest, runs its share behind its own proxy, and serves at its address", async () => {
        const port = new URL(urls[0]).port;
        expect(urls).toEqual([`http://192.168.240.11:${port}`, `http://192.168.240.12:${port}`]);
        const answers = await Promise.all(urls.map((url) => http("GET", `${url}/`)));
        expect(answers.map((a) => a.status)).toEqual([200, 200]);
        expect(answers[0].json.version).toBe(answers[1].json.version);
        // 3 replicas over 2 hosts: 2 + 1. Services on the first host.
        expect(labelled(engines[0], "label=berth.role=app")).toHaveLength(2);
        expect(labelled(engines[1], "label=berth.role=app")).toHaveLength(1);
        expect(labelled(engines[0], "label=berth.role=dependency")).toHaveLength(2);
        expect(labelled(engines[1], "label=berth.role=dependency")).toHaveLength(0);
        expect(labelled(engines[1], "label=berth.role=proxy")).toHaveLength(1);
        // Nothing is built on a host: every image there came from the registry (it has a repo digest).
        const images = dockerAt(engines[1], "image", "ls", "--format", "{{.Repository}}@{{.Digest}}").split("\n");
        expect(images.length).toBeGreaterThan(0);
        expect(images.every((image) => image.startsWith(`${testRegistry}/`) && !image.endsWith("@<none>"))).toBe(true);
        const [replica] = labelled(engines[1], "label=berth.role=app");
        expect(dockerAt(engines[1], "inspect", "--format", "{{.Config.Image}}", replica)).toBe(imageRef);
        const outputs = await env.stack.outputs();
        expect(outputs.hostReleases.value).toEqual({ [engines[0]]: imageRef, [engines[1]]: imageRef });
    });

    it("apps on the second host use the services on the first, over its private address, authenticated", async () => {
        const note = `from h2 ${Date.now()}`;
        expect((await http("POST", `${urls[1]}/rows`, { note })).status).toBe(201);
        expect((await http("GET", `${urls[0]}/rows`)).json.rows.map((r: any) => r.note)).toContain(note);
        expect((await http("POST", `${urls[1]}/hits`)).status).toBe(200);
        const [postgres] = labelled(engines[0], "label=berth.service=postgres");
        const bindings = JSON.parse(dockerAt(engines[0], "inspect", "--format", "{{json .HostConfig.PortBindings}}", postgres));
        expect(bindings).toEqual({ "5432/tcp": [{ HostIp: "192.168.240.11", HostPort: "5432" }] });
        const [redis] = labelled(engines[0], "label=berth.service=redis");
        expect(dockerAt(engines[0], "exec", redis, "redis-cli", "ping")).toMatch(/NOAUTH/);
    });

    it("a second up changes nothing, over one SSH connection per host", async () => {
        for (const engine of engines) closeConnection(engine);
        const before = ["h1", "h2"].map(handshakes);
        const result = await env.stack.up({ color: "never" });
        const after = ["h1", "h2"].map(handshakes);
        console.log(`no-op up on 2 hosts: SSH handshakes h1 ${after[0] - before[0]}, h2 ${after[1] - before[1]}`);
        expect(Object.keys(result.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
        expect(after.map((n, i) => n - before[i])).toEqual([1, 1]);
    });

    it("a host that does not trust the registry fails up before anything changes, naming the host and the fix", async () => {
        const appIds = engines.map((engine) => labelled(engine, "label=berth.role=app").sort());
        const ca = fs.readFileSync(caFile("h2"));
        fs.rmSync(caFile("h2"));
        try {
            fs.appendFileSync(path.join(context, "server.js"), `\n// release ${Date.now()}\n`);
            await expect(env.stack.up({ color: "never" })).rejects.toThrow(/ssh:\/\/deploy@192\.168\.240\.12 does not trust 192\.168\.240\.2:5000's certificate[^]*certs\.d/);
        } finally {
            fs.writeFileSync(caFile("h2"), ca);
        }
        expect(engines.map((engine) => labelled(engine, "label=berth.role=app").sort())).toEqual(appIds);
    });

    it("a release rolls out host by host under load on both proxies, with no failed request", async () => {
        const loads = urls.map((url) => startLoad(`${url}/`, 4, 300));
        let outputs;
        try {
            outputs = (await env.stack.up({ color: "never" })).outputs;
        } finally {
            await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        const results = await Promise.all(loads.map((load) => load.stop()));
        const total = results.reduce((n, r) => n + r.total, 0);
        console.log(`2-host rollout: ${total} requests, failures`, results.map((r) => r.failures));
        expect(results.map((r) => r.failures)).toEqual([{}, {}]);
        expect(total).toBeGreaterThan(500);
        expect(outputs.imageRef.value).not.toBe(imageRef);
        expect(outputs.hostReleases.value).toEqual({ [engines[0]]: outputs.imageRef.value, [engines[1]]: outputs.imageRef.value });
        // Host by host: the second host's new replica started only after the first host's were healthy and serving.
        const started = (engine: string) => labelled(engine, "label=berth.role=app").map((name) => Date.parse(dockerAt(engine, "inspect", "--format", "{{.State.StartedAt}}", name)));
        expect(Math.min(...started(engines[1]))).toBeGreaterThan(Math.max(...started(engines[0])));
        imageRef = outputs.imageRef.value;
    });

    it("moving the database to the other host is refused at preview, with the steps to move its data", async () => {
        await setObjectConfig(env.stack, "services", {
            redis: { kind: "redis", image: `${testRegistry}/berth/redis:7` },
            postgres: { kind: "postgres", image: `${testRegistry}/berth/postgres:15`, host: engines[1] },
        });
        await expect(env.stack.preview({ color: "never" })).rejects.toThrow(/lives on ssh:\/\/deploy@192\.168\.240\.11[^]*empty volume[^]*To move the data/);
        const [postgres] = labelled(engines[0], "label=berth.service=postgres");
        expect(postgres).toBeDefined();
    });
});
