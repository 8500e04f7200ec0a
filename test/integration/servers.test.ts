import * as crypto from "crypto";
import { execFileSync, spawnSync } from "child_process";
import * as dgram from "dgram";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startConnectionLoad, startLoad } from "../load";
import { appCopy, cleanHosts, dockerAt, http, projectRoot, restartTestHostEngine, setObjectConfig, testHosts, testRegistry, ThrowawayStack, throwawayStack, writeCheckoutRelease } from "./harness";
import { testHostsDir } from "../../components/cacheLayout";

const hostsDir = testHostsDir();
/** SSH logins a test host's sshd has accepted so far: each one is a full handshake. */
const handshakes = (host: string) => (fs.readFileSync(path.join(hostsDir, host, "log", "sshd.log"), "utf8").match(/Accepted publickey/g) ?? []).length;
const address = (engine: string) => engine.replace(/^ssh:\/\/[^@]+@/, "");
/** Ends berth's multiplexed connections to a host (one per set of trusted keys, if open), so the next run starts from none. */
const closeConnection = (engine: string) => {
    const suffix = `-deploy@${address(engine)}:22`;
    for (const socket of fs.readdirSync(path.join(os.homedir(), ".ssh")).filter((name) => name.startsWith("berth-mux-") && name.endsWith(suffix))) {
        try {
            execFileSync("ssh", ["-o", `ControlPath=${path.join(os.homedir(), ".ssh", socket)}`, "-O", "exit", `deploy@${address(engine)}`], { stdio: "ignore" });
        } catch {
            // no connection open
        }
    }
};

/** Where the test environment's syslog listener is: the test bridge's gateway (this machine). */
const syslogAddress = "192.168.240.1";

/**
 * A stack file's config with its machines pointed at the test environment: the same keys, the team's hosts,
 * registry, log server and public images replaced by test hosts, the test registry and its service stand-ins.
 */
function shapedLike(file: string, machines: Record<string, string>, syslogPort: number): Record<string, string | object> {
    let text = JSON.stringify((yaml.load(fs.readFileSync(path.join(projectRoot, file), "utf8")) as any).config);
    const replacements: Record<string, string> = {
        ...machines,
        "registry.internal:5000": testRegistry,
        "udp://logs.internal:514": `udp://${syslogAddress}:${syslogPort}`,
        '"image":"redis:7"': `"image":"${testRegistry}/berth/redis:7"`,
        '"image":"postgres:15"': `"image":"${testRegistry}/berth/postgres:15"`,
        '"berth:registryUser":"ci"': '"berth:registryUser":"berth"',
    };
    for (const [from, to] of Object.entries(replacements)) text = text.split(from).join(to);
    return Object.fromEntries(Object.entries(JSON.parse(text)).map(([key, value]) =>
        [key.replace(/^berth:/, ""), typeof value === "object" ? value as object : String(value)]));
}

/** Containers of a stack on one engine, by label filters. */
function labelledOn(engine: string, stack: string, ...filters: string[]): string[] {
    return dockerAt(engine, "ps", "--filter", `label=berth.stack=${stack}`, ...filters.flatMap((f) => ["--filter", f]), "--format", "{{.Names}}").split("\n").filter(Boolean);
}

/**
 * berth:hosts, proven with stack configs shaped like Pulumi.staging.yaml and Pulumi.production.yaml on test hosts
 * reached over SSH, with the hosts' own registry (TLS): the staging flow, then its digest promoted to production.
 */
describe("staging and production on test hosts over SSH", () => {
    let env: ThrowawayStack;
    let engines: string[];
    let urls: string[];
    let imageRef: string;
    const context = appCopy();
    const syslog = dgram.createSocket("udp4");
    let syslogMessages = 0;
    const labelled = (engine: string, ...filters: string[]) => labelledOn(engine, env.name, ...filters);
    const caFile = (host: string) => path.join(hostsDir, host, "etc-docker", "certs.d", testRegistry, "ca.crt");

    beforeAll(async () => {
        engines = await testHosts(3);
        await new Promise<void>((resolve) => syslog.bind(0, syslogAddress, resolve));
        syslog.on("message", () => syslogMessages++);
        const staging = shapedLike("Pulumi.staging.yaml", { "ssh://deploy@staging-1.internal": engines[0], "ssh://deploy@staging-2.internal": engines[1] }, syslog.address().port);
        // A registry with a namespace path, as ghcr.io/my-org, and image names with one level under it, as Docker Hub has.
        env = await throwawayStack({ ...staging, appContext: context, registry: `${testRegistry}/acme-org`, imageName: "{app}-{branch}" }, { redisPassword: crypto.randomBytes(12).toString("hex") });
        const outputs = (await env.stack.up({ color: "never" })).outputs;
        urls = outputs.urls.value;
        imageRef = outputs.imageRef.value;
    });
    afterAll(async () => {
        execFileSync("bash", [path.join(projectRoot, "scripts/hosts.sh"), "join", "h2"]);
        await env?.remove();
        if (engines) cleanHosts(engines, env.name);
        syslog.close();
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("builds once here; each host pulls by digest, runs its share behind its own proxy, and serves at its address", async () => {
        expect(urls).toEqual(["http://192.168.240.11:8080", "http://192.168.240.12:8080"]);
        const answers = await Promise.all(urls.map((url) => http("GET", `${url}/`)));
        expect(answers.map((a) => a.status)).toEqual([200, 200]);
        expect(answers[0].json.version).toBe(answers[1].json.version);
        // Staging's 2 replicas over its 2 hosts; its services on the first, as its config places them.
        expect(labelled(engines[0], "label=berth.role=app")).toHaveLength(1);
        expect(labelled(engines[1], "label=berth.role=app")).toHaveLength(1);
        expect(labelled(engines[0], "label=berth.role=dependency")).toHaveLength(2);
        expect(labelled(engines[1], "label=berth.role=dependency")).toHaveLength(0);
        expect(labelled(engines[1], "label=berth.role=proxy")).toHaveLength(1);
        // Nothing is built on a host: every image there came from the registry (it has a repo digest).
        const images = dockerAt(engines[1], "image", "ls", "--digests", "--format", "{{.Repository}}@{{.Digest}}").split("\n");
        expect(images.length).toBeGreaterThan(0);
        expect(images.filter((image) => !image.startsWith(`${testRegistry}/`) || !/@sha256:[0-9a-f]{64}$/.test(image))).toEqual([]);
        expect(imageRef).toMatch(new RegExp(`^${testRegistry}/acme-org/shop-${env.name}@sha256:`));
        expect(images.filter((image) => image.startsWith(`${testRegistry}/acme-org/berth/proxy@sha256:`))).toHaveLength(1);
        const [replica] = labelled(engines[1], "label=berth.role=app");
        expect(dockerAt(engines[1], "inspect", "--format", "{{.Config.Image}}", replica)).toBe(imageRef);
        const outputs = await env.stack.outputs();
        expect(outputs.hostReleases.value).toEqual({ [engines[0]]: imageRef, [engines[1]]: imageRef });
        // The app's logs reach the stack's syslog server (here the test environment's).
        expect(dockerAt(engines[1], "inspect", "--format", "{{.HostConfig.LogConfig.Type}}", replica)).toBe("syslog");
        await http("GET", `${urls[1]}/nothing-here`);
        const deadline = Date.now() + 10_000;
        while (syslogMessages === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
        expect(syslogMessages).toBeGreaterThan(0);
    });

    it("apps on the second host use the services on the first, over its private address, authenticated", async () => {
        const note = `from h2 ${Date.now()}`;
        expect((await http("POST", `${urls[1]}/rows`, { note })).status).toBe(201);
        expect((await http("GET", `${urls[0]}/rows`)).json.rows.map((r: any) => r.note)).toContain(note);
        expect((await http("POST", `${urls[1]}/hits`)).status).toBe(200);
        // Nothing published through Docker's NAT: each service's port listens on the private address itself.
        const [postgres] = labelled(engines[0], "label=berth.service=postgres");
        expect(dockerAt(engines[0], "inspect", "--format", "{{json .HostConfig.PortBindings}}", postgres)).toBe("{}");
        const ports = labelled(engines[0], "label=berth.role=port");
        expect(ports).toHaveLength(2);
        const forwards = ports.map((port) => dockerAt(engines[0], "inspect", "--format", "{{.HostConfig.NetworkMode}} {{range .Config.Env}}{{.}} {{end}}", port));
        expect(forwards.map((f) => f.match(/^host .*BERTH_FORWARD=(\S+)/)?.[1]).sort()).toEqual(["192.168.240.11:5432", "192.168.240.11:6379"]);
        const [redis] = labelled(engines[0], "label=berth.service=redis");
        expect(dockerAt(engines[0], "exec", redis, "redis-cli", "ping")).toMatch(/NOAUTH/);
    });

    it("h1's engine restarts under load: new connections to its services from elsewhere and the app on h2 that uses them fail none", async () => {
        const app = startLoad(`${urls[1]}/hits`, 2, 120);
        const redis = startConnectionLoad(address(engines[0]), 6379, "PING\r\n", 4, 120);
        try {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            await restartTestHostEngine("h1", engines[0]);
            await new Promise((resolve) => setTimeout(resolve, 2000));
        } finally {
            const [web, connections] = await Promise.all([app.stop(), redis.stop()]);
            console.log(`h1 engine restart: app on h2 ${web.total} requests, failures`, web.failures, `; new connections to h1's redis ${connections.total}, failures`, connections.failures);
            expect([web.failures, connections.failures]).toEqual([{}, {}]);
            expect(Math.min(web.total, connections.total)).toBeGreaterThan(200);
        }
    });

    it("`npm run logs` merges every replica's lines on both hosts in time order; `npm run exec` runs a one-off of the release with its environment", async () => {
        const npm = (...args: string[]) => spawnSync("npm", ["run", "--silent", ...args], { cwd: projectRoot, encoding: "utf8" });
        const logs = npm("logs", "--", "--stack", env.name, "--since", "1h");
        expect(logs.status).toBe(0);
        const lines = logs.stdout.split("\n").filter((line) => line.includes(" | "));
        const names = [...labelled(engines[0], "label=berth.role=app"), ...labelled(engines[1], "label=berth.role=app")];
        expect(new Set(lines.map((line) => line.split(" | ")[0]))).toEqual(new Set(names));
        const times = lines.map((line) => Date.parse(line.split(" | ")[1].split(" ")[0]));
        expect(times).toEqual([...times].sort((a, b) => a - b));
        const exec = npm("exec", "--", "--stack", env.name, "--", "sh", "-c", 'echo "db at ${DATABASE_URL#*@}, redis password ${REDIS_PASSWORD:+set}"; exit 7');
        expect(exec.stdout).toContain("db at postgres:5432/app, redis password set");
        expect(exec.status).toBe(7);
        // Arguments reach the command as given: spaces, quotes and $ are not re-parsed by a shell.
        const argv = npm("exec", "--", "--stack", env.name, "--", "printf", "%s|", "a b", `c'd"e`, "$HOME");
        expect(argv.stdout).toContain(`a b|c'd"e|$HOME|`);
        // The one-off is gone, and nothing of it is left on the host.
        expect(dockerAt(engines[0], "ps", "-a", "--filter", `label=berth.stack=${env.name}`, "--filter", "label=berth.role=one-off", "-q")).toBe("");
    });

    it("a second up changes nothing, over one SSH connection per host", async () => {
        for (const engine of engines.slice(0, 2)) closeConnection(engine);
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

    it("an unknown host key is refused at preview, naming the host and what to check; the stack can carry the key", async () => {
        const knownHosts = path.join(os.homedir(), ".ssh", "berth_known_hosts");
        const saved = fs.readFileSync(knownHosts, "utf8");
        const keyOf = (address: string) => saved.split("\n").find((line) => line.startsWith(`${address} ssh-ed25519 `))!.split(" ").slice(1).join(" ");
        fs.writeFileSync(knownHosts, saved.split("\n").filter((line) => !line.startsWith("192.168.240.12 ")).join("\n"));
        closeConnection(engines[1]);
        try {
            await expect(env.stack.preview({ color: "never" })).rejects.toThrow(/ssh:\/\/deploy@192\.168\.240\.12: its SSH host key is not in known_hosts, or has changed[^]*berth:knownHosts/);
            // What a fresh CI machine has: no known_hosts entry, the key in the stack's config.
            await setObjectConfig(env.stack, "knownHosts", [`192.168.240.12 ${keyOf("192.168.240.12")}`]);
            expect((await env.stack.preview({ color: "never" })).stdout).toMatch(/Resources:/);
            // Another stack on the same host trusts its own keys only: this stack's key (and its open connection) vouch for nothing there.
            const other = await throwawayStack({ appContext: context, hosts: [engines[1]], bindAddress: "0.0.0.0" });
            try {
                await expect(other.stack.up({ color: "never" })).rejects.toThrow(/ssh:\/\/deploy@192\.168\.240\.12: its SSH host key is not in known_hosts, or has changed/);
            } finally {
                await other.remove();
            }
            // A key in the config that is not the host's is refused as a changed key, never skipped.
            closeConnection(engines[1]);
            await setObjectConfig(env.stack, "knownHosts", [`192.168.240.12 ${keyOf("192.168.240.11")}`]);
            await expect(env.stack.preview({ color: "never" })).rejects.toThrow(/ssh:\/\/deploy@192\.168\.240\.12: its SSH host key is not in known_hosts, or has changed/);
        } finally {
            fs.writeFileSync(knownHosts, saved);
            await env.stack.removeConfig("berth:knownHosts");
            closeConnection(engines[1]);
        }
    });

    it("a connection whose ssh was killed (its socket left behind) is replaced by the next run's", async () => {
        // The stack carries no host keys: its connections are those that trust the user's known_hosts alone.
        const check = spawnSync("ssh", ["-o", `ControlPath=${os.homedir()}/.ssh/berth-mux-user-%r@%h:%p`, "-O", "check", "deploy@192.168.240.11"], { encoding: "utf8" });
        const master = Number(/pid=([0-9]+)/.exec(check.stderr)?.[1]);
        expect(master).toBeGreaterThan(0);
        process.kill(master, "SIGKILL");
        expect(fs.existsSync(`${os.homedir()}/.ssh/berth-mux-user-deploy@192.168.240.11:22`)).toBe(true);
        expect((await env.stack.preview({ color: "never" })).stdout).toMatch(/Resources:/);
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

    it("with berth:canary, each host's proxy splits its own requests and the verdict is over both hosts' figures: a release failing one route is rolled back on both, nothing replaced", async () => {
        const before = engines.slice(0, 2).map((engine) => labelled(engine, "label=berth.role=app"));
        await setObjectConfig(env.stack, "canary", { percent: 25, seconds: 8, maxErrorRate: 0.05, maxP95Ms: 800 });
        writeCheckoutRelease(context, "failing");
        const loads = urls.map((url) => startLoad(`${url}/checkout`, 4, 300));
        const error = await env.stack.up({ color: "never" }).then(() => undefined, (err: Error) => err);
        const results = await Promise.all(loads.map((load) => load.stop()));
        await env.stack.removeConfig("berth:canary");
        writeCheckoutRelease(context, "good");
        expect(error?.message).toMatch(new RegExp(`rolled back by the canary \\(25% of traffic, 8 s\\): error rate[^]*on ${engines[0]}, ${engines[1]}: old: \\d+ requests`));
        // The old release has no /checkout (404); the canary's 500s on each host, a bounded share of its requests.
        for (const result of results) {
            expect(Object.keys(result.failures).filter((kind) => kind !== "404")).toEqual(["500"]);
            expect(result.failures["500"]).toBeLessThan(result.total * 0.4);
        }
        expect(engines.slice(0, 2).map((engine) => labelled(engine, "label=berth.role=app"))).toEqual(before);
        expect(engines.slice(0, 2).flatMap((engine) => labelled(engine, "label=berth.role=canary"))).toEqual([]);
    });

    it("a host cut off in the middle of a rollout fails up naming it, keeps its old release, and the next up converges", async () => {
        const before = await http("GET", `${urls[1]}/`);
        const onFirst = new Set(labelled(engines[0], "label=berth.role=app"));
        fs.appendFileSync(path.join(context, "server.js"), `\n// release ${Date.now()}\n`);
        const load = startLoad(`${urls[0]}/`, 4, 300);
        const release = env.stack.up({ color: "never" });
        release.catch(() => undefined);
        // Once the first host is replacing its replica, the second host goes away.
        const deadline = Date.now() + 120_000;
        while (labelled(engines[0], "label=berth.role=app").every((name) => onFirst.has(name)) && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
        execFileSync("bash", [path.join(projectRoot, "scripts/hosts.sh"), "cut", "h2"]);
        try {
            await expect(release).rejects.toThrow(/192\.168\.240\.12/);
        } finally {
            execFileSync("bash", [path.join(projectRoot, "scripts/hosts.sh"), "join", "h2"]);
        }
        const result = await load.stop();
        expect(result.failures).toEqual({});
        const first = await http("GET", `${urls[0]}/`);
        expect(first.json.version).not.toBe(before.json.version);
        // The second host still serves the release it had.
        expect((await http("GET", `${urls[1]}/`)).json.version).toBe(before.json.version);
        const converged = (await env.stack.up({ color: "never" })).outputs;
        expect(converged.hostReleases.value).toEqual({ [engines[0]]: converged.imageRef.value, [engines[1]]: converged.imageRef.value });
        expect((await http("GET", `${urls[1]}/`)).json.version).toBe(first.json.version);
        imageRef = converged.imageRef.value;
    });

    it("production, shaped like Pulumi.production.yaml, runs staging's digest on its three hosts without building", async () => {
        const production = shapedLike("Pulumi.production.yaml", {
            "ssh://deploy@prod-1.internal": engines[2], "ssh://deploy@prod-2.internal": engines[0], "ssh://deploy@prod-3.internal": engines[1],
        }, syslog.address().port);
        const prod = await throwawayStack({ ...production, image: imageRef, rolloutPauseSeconds: "1" }, { redisPassword: crypto.randomBytes(12).toString("hex") });
        try {
            const outputs = (await prod.stack.up({ color: "never" })).outputs;
            expect(outputs.imageRef.value).toBe(imageRef);
            expect(outputs.urls.value).toEqual(["http://192.168.240.13:80", "http://192.168.240.11:80", "http://192.168.240.12:80"]);
            expect(outputs.hostReleases.value).toEqual(Object.fromEntries([engines[2], engines[0], engines[1]].map((e) => [e, imageRef])));
            const versions = await Promise.all(outputs.urls.value.map(async (url: string) => (await http("GET", `${url}/`)).json.version));
            expect(new Set(versions)).toEqual(new Set([(await http("GET", `${urls[0]}/`)).json.version]));
            // Nothing was built for production: no image of this stack exists on the engine berth runs beside.
            expect(execFileSync("docker", ["image", "ls", "-q", "--filter", `label=berth.built-by=${prod.name}`], { encoding: "utf8" }).trim()).toBe("");
            expect(labelledOn(engines[1], prod.name, "label=berth.service=postgres")).toHaveLength(1);
        } finally {
            await prod.remove();
            cleanHosts(engines, prod.name);
        }
    });

    it("moving the database to the other host is refused at preview, with the steps to move its data", async () => {
        await setObjectConfig(env.stack, "services", {
            redis: { kind: "redis", image: `${testRegistry}/berth/redis:7`, host: engines[0] },
            postgres: { kind: "postgres", image: `${testRegistry}/berth/postgres:15`, host: engines[1] },
        });
        await expect(env.stack.preview({ color: "never" })).rejects.toThrow(/lives on ssh:\/\/deploy@192\.168\.240\.11[^]*empty volume[^]*To move the data/);
        const [postgres] = labelled(engines[0], "label=berth.service=postgres");
        expect(postgres).toBeDefined();
    });
});
