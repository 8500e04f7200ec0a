/**
 * `npm run bench`: berth against two hand-written deploys, in one run, on the same engine, app, images, services
 * and load: the careful script (same guarantees: health-gated start, nginx switch, drain — bench/careful.sh) and
 * the unsafe stop/rm/run script (bench/stop-rm-run.sh). Also the engine's own floor (an empty program), no-op runs
 * of stacks of 10, 25 and 50 containers, and docker CLI processes per release. Prints a table of ratios and records
 * it in docs/BENCHMARKS.md.
 */
import { execFile, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as nodeHttp from "http";
import * as os from "os";
import * as path from "path";
import { hostsBench } from "./hosts";
import { swarmBench } from "./swarm";
import { backupsBench } from "./backups";
import { frontDoorBench } from "./frontDoor";
import { stateBackendBench } from "./stateBackend";
import { canaryBench } from "./canary";
import { startLoad, LoadResult } from "../test/load";
import { appCopy, docker, dockerObjects, freePort, projectRoot, ThrowawayStack, throwawayStack } from "../test/integration/harness";

const RELEASES = Number(process.env.BENCH_RELEASES ?? 20);
const REPLICAS = 2;
/** Each release is measured this many times, berth and the scripts in turn; the tables give medians. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** After each deploy, until the next is timed: the new containers' boot and the old ones' stop are over by then. */
const SETTLE_MS = 2000;
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** The version `url` answers with, or undefined while it does not answer 200. */
function versionAt(url: string): Promise<string | undefined> {
    return new Promise((resolve) => {
        const request = nodeHttp.get(url, { timeout: 2000 }, (response) => {
            let body = "";
            response.on("data", (chunk) => (body += chunk));
            response.on("end", () => resolve(response.statusCode === 200 ? JSON.parse(body).version : undefined));
        });
        request.on("timeout", () => request.destroy());
        request.on("error", () => resolve(undefined));
    });
}

async function waitForVersion(url: string, version: string): Promise<void> {
    const deadline = Date.now() + 120_000;
    while ((await versionAt(url)) !== version) {
        if (Date.now() > deadline) throw new Error(`${url} did not answer version ${version} within 120s`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

interface Deploy {
    ms: number;
    load: LoadResult;
}

/** Rounds of one deploy under load: the median time, and every request of every round. */
function summarize(rounds: Deploy[]): Deploy {
    const failures: Record<string, number> = {};
    for (const { load } of rounds) for (const [kind, n] of Object.entries(load.failures)) failures[kind] = (failures[kind] ?? 0) + n;
    const sum = (pick: (load: LoadResult) => number) => rounds.reduce((total, round) => total + pick(round.load), 0);
    return { ms: median(rounds.map((round) => round.ms)), load: { total: sum((l) => l.total), failed: sum((l) => l.failed), failures, answers: [] } };
}

/** Runs `deploy` under steady load; keeps the load on until `url` answers the version it deployed, and SETTLE_MS more. */
async function deployUnderLoad(url: string, deploy: () => Promise<unknown>, deployed: () => Promise<string>): Promise<Deploy> {
    const load = startLoad(url);
    const ms = await settledDeploy(url, deploy, deployed);
    return { ms, load: await load.stop() };
}

/**
 * Times `deploy` alone, then waits until `url` answers what it deployed and the machine settles: the next deploy
 * timed must not share the two cores with this one's containers still booting (stop/rm/run returns before its app
 * answers).
 */
async function settledDeploy(url: string, deploy: () => Promise<unknown>, deployed: () => Promise<string>): Promise<number> {
    const started = Date.now();
    await deploy();
    const ms = Date.now() - started;
    await waitForVersion(url, await deployed());
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return ms;
}

/**
 * One of the hand-written deploys in bench/, run beside the load generator (in this process), never blocking it:
 * a deploy measured "under load" must really have the load on while it runs.
 */
function script(file: string, ...args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn("bash", [path.join(projectRoot, file), ...args], { stdio: "inherit" });
        child.on("error", reject);
        child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}`))));
    });
}

function timed(run: () => void): number {
    const started = Date.now();
    run();
    return Date.now() - started;
}

/** The project's Pulumi CLI on the command line, as users run it, against a stack's backend. */
function pulumi(stack: ThrowawayStack, cwd: string, ...args: string[]): void {
    execFileSync("pulumi", [...args, "--stack", stack.name, "--non-interactive", "--suppress-progress"], {
        cwd,
        env: { ...process.env, ...stack.envVars },
        stdio: "ignore",
    });
}

/** `pulumi up --yes --skip-preview` as users run it (`npm start` does; so does a CI deploy), without blocking the load generator. */
function release(stack: ThrowawayStack, extraEnv: Record<string, string> = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => execFile("pulumi", ["up", "--yes", "--skip-preview", "--stack", stack.name, "--non-interactive", "--suppress-progress"],
        { cwd: projectRoot, env: { ...process.env, ...stack.envVars, ...extraEnv } }, (error, _stdout, stderr) => (error ? reject(new Error(`pulumi up failed: ${stderr}`)) : resolve())));
}

type NoOpTimes = { upMs: number; previewMs: number };

/**
 * Median wall time of a no-op `up` (`--yes --skip-preview`, what `npm start` runs) and of a `preview` for each
 * stack, ROUNDS of each, the stacks in turn within every round: a ratio between two of them compares runs made
 * under the same conditions, not one stack's runs with another's a minute later.
 */
function noOpTimesInTurn<K extends string>(stacks: Record<K, [ThrowawayStack, string]>): Record<K, NoOpTimes> {
    const entries = Object.entries(stacks) as [K, [ThrowawayStack, string]][];
    // Warm: the first run after a change may still do work.
    for (const [, [stack, cwd]] of entries) pulumi(stack, cwd, "up", "--yes", "--skip-preview");
    const runs = (args: string[]) => {
        const times = new Map<K, number[]>(entries.map(([key]) => [key, []]));
        for (let round = 0; round < ROUNDS; round++) {
            for (const [key, [stack, cwd]] of entries) times.get(key)!.push(timed(() => pulumi(stack, cwd, ...args)));
        }
        return times;
    };
    const up = runs(["up", "--yes", "--skip-preview"]);
    const preview = runs(["preview"]);
    return Object.fromEntries(entries.map(([key]) => [key, { upMs: median(up.get(key)!), previewMs: median(preview.get(key)!) }])) as Record<K, NoOpTimes>;
}

function noOpTimes(stack: ThrowawayStack, cwd: string): NoOpTimes {
    return noOpTimesInTurn({ stack: [stack, cwd] }).stack;
}

/** A dynamic provider (its module's text) whose resources do nothing. */
const NOOP_PROVIDER = `'exports.handler = () => ({ create: async () => ({ id: "noop", outs: {} }), diff: async () => ({ changes: false }) });'`;

/** A program that declares nothing: the engine's own floor. */
const EMPTY_PROGRAM = "module.exports = {};\n";

/** A program whose one resource is served by the Node.js dynamic-provider plugin, doing nothing. */
const ONE_DYNAMIC_RESOURCE = `const pulumi = require("@pulumi/pulumi");
const provider = ${NOOP_PROVIDER};
new pulumi.CustomResource("pulumi-nodejs:dynamic/bench:Noop", "noop", { __provider: provider });
`;

/**
 * A program with berth's stack's resource graph and nothing else: the same resources (type, name, parent and
 * dependencies, in the same order), each dynamic one served by a provider that does nothing, each component empty.
 * What the engine and the Node.js SDK cost for that graph, whatever the resources do.
 */
type GraphResource = { urn: string; type: string; custom: boolean; parent?: string; dependencies?: string[] };

function graphOnlyProgram(resources: GraphResource[]): string {
    const shape = resources
        .filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"))
        .map(({ urn, type, custom, parent, dependencies }) => ({ urn, type, custom, parent, dependencies: dependencies ?? [] }));
    return `const pulumi = require("@pulumi/pulumi");
const provider = ${NOOP_PROVIDER};
const made = new Map();
for (const r of ${JSON.stringify(shape)}) {
    const name = r.urn.split("::").pop();
    const opts = { parent: made.get(r.parent), dependsOn: r.dependencies.map((u) => made.get(u)).filter(Boolean) };
    if (r.custom) {
        made.set(r.urn, new pulumi.CustomResource(r.type, name, { __provider: provider }, opts));
    } else {
        const component = new pulumi.ComponentResource(r.type, name, {}, opts);
        component.registerOutputs({});
        made.set(r.urn, component);
    }
}
`;
}

/** A program whose one dynamic resource runs the careful script (its arguments from BENCH_CAREFUL_ARGS) when they change. */
const CAREFUL_SCRIPT_RESOURCE = `const pulumi = require("@pulumi/pulumi");
const provider = \`const run = (args) => require("child_process").execFileSync("bash", args, { stdio: "ignore" });
exports.handler = () => ({
    create: async (inputs) => (run(inputs.args), { id: "careful", outs: inputs }),
    diff: async (_id, olds, news) => ({ changes: JSON.stringify(olds.args) !== JSON.stringify(news.args) }),
    update: async (_id, _olds, news) => (run(news.args), { outs: news }),
});\`;
new pulumi.CustomResource("pulumi-nodejs:dynamic/bench:CarefulScript", "careful", { __provider: provider, args: JSON.parse(process.env.BENCH_CAREFUL_ARGS) });
`;

/** A Pulumi project of its own for `program`, with the same node_modules and toolchain help as berth's runs. */
async function withFloorStack<T>(program: string, use: (stack: ThrowawayStack, dir: string) => Promise<T> | T): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-floor-"));
    try {
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: floor\nruntime: nodejs\nmain: index.js\n");
        fs.writeFileSync(path.join(dir, "index.js"), program);
        fs.symlinkSync(path.join(projectRoot, "node_modules"), path.join(dir, "node_modules"));
        // tools/defer-modules.js, found by the language host and the plugin shim beside the program.
        fs.symlinkSync(path.join(projectRoot, "tools"), path.join(dir, "tools"));
        const floor = await throwawayStack({}, {}, { workDir: dir });
        try {
            return await use(floor, dir);
        } finally {
            await floor.remove();
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * berth's no-op runs in turn with the engine's floors on this machine: the same CLI runs for a Node.js program that
 * declares nothing, for one whose single resource is served by the dynamic-provider plugin (what every berth
 * resource needs: that plugin's start, which loads @pulumi/pulumi, is on the critical path of any run), and for
 * berth's own resource graph (above).
 */
function noOpTimesWithFloors(berth: ThrowawayStack, berthResources: GraphResource[]) {
    return withFloorStack(EMPTY_PROGRAM, (empty, emptyDir) =>
        withFloorStack(ONE_DYNAMIC_RESOURCE, (dynamic, dynamicDir) =>
            withFloorStack(graphOnlyProgram(berthResources), (graph, graphDir) =>
                noOpTimesInTurn({ berth: [berth, projectRoot], floor: [empty, emptyDir], dynamicFloor: [dynamic, dynamicDir], graphFloor: [graph, graphDir] }))));
}

/** The careful script's release run by Pulumi (CAREFUL_SCRIPT_RESOURCE): created once, then the median of ROUNDS updates. */
function carefulScriptInPulumi(args: (round: number) => string[], change: (round: number) => void): Promise<number> {
    return withFloorStack(CAREFUL_SCRIPT_RESOURCE, (floor, dir) => {
        const up = (round: number) => {
            process.env.BENCH_CAREFUL_ARGS = JSON.stringify(args(round));
            return timed(() => pulumi(floor, dir, "up", "--yes", "--skip-preview"));
        };
        up(0);
        return median(Array.from({ length: ROUNDS }, (_, i) => (change(i + 1), up(i + 1))));
    });
}

/** A `docker` on PATH that counts its calls, then runs the real CLI. */
function dockerCounter(): { dir: string; count(): number } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-docker-"));
    const real = execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim();
    fs.writeFileSync(path.join(dir, "docker"), `#!/bin/sh\necho >> "${dir}/calls"\nexec "${real}" "$@"\n`, { mode: 0o755 });
    const calls = path.join(dir, "calls");
    return {
        dir,
        count() {
            const n = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").length : 0;
            fs.rmSync(calls, { force: true });
            return n;
        },
    };
}

/**
 * The app's healthcheck in the bigger stacks: a TCP connect from bash instead of the image's `node healthcheck.js`.
 * Each of those starts Node.js in the container (0.25 s of CPU, measured with `docker exec`): 20 replicas checked
 * every 5 s keep a whole core busy, and starting them on two cores then misses the image's healthcheck window.
 * What these rows measure is the runs, not the app's checks, so the stacks use what a small host's owner would.
 */
const LIGHT_HEALTHCHECK = { command: "bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080'", intervalSeconds: 30, startPeriodSeconds: 60 };

interface ScalePoint {
    label: string;
    /** Containers running. */
    containers: number;
    upMs: number;
    previewMs: number;
}

/** Preview and no-op `up` of a stack of `containers` containers: replicas behind the proxy, Redis, Postgres, more Redis. */
async function scalePoint(containers: number): Promise<ScalePoint> {
    const replicas = Math.min(20, containers - 3);
    const extra = containers - 3 - replicas;
    const services: Record<string, object> = { redis: { kind: "redis", image: "berth/redis:7" }, postgres: { kind: "postgres", image: "berth/postgres:15" } };
    for (let i = 1; i <= extra; i++) services[`cache${i}`] = { kind: "redis", image: "berth/redis:7" };
    const stack = await throwawayStack({ replicas: String(replicas), ephemeral: "true", healthTimeoutSeconds: "300", services, healthcheck: LIGHT_HEALTHCHECK });
    try {
        await stack.stack.up({ color: "never" });
        const running = dockerObjects(stack.name).containers.length;
        return { label: `stack of ${running} containers (${replicas} replicas, ${2 + extra} services, proxy): no-op \`up\` / \`preview\``, containers: running, ...noOpTimes(stack, projectRoot) };
    } finally {
        await stack.remove();
    }
}

/**
 * The stack-size table's rows: each size's times, per container, and what each container beyond the size before it
 * added (equal from size to size when the time grows linearly; the per-container figure also carries the fixed cost).
 */
function scaleRows(points: (ScalePoint | { label: string; failed: string })[]): string[][] {
    let previous: ScalePoint | undefined;
    return points.map((point) => {
        if ("failed" in point) return [point.label, point.failed, "", ""];
        const perContainer = `${(point.upMs / point.containers).toFixed(0)} ms / ${(point.previewMs / point.containers).toFixed(0)} ms per container`;
        const added = previous
            ? `${((point.upMs - previous.upMs) / (point.containers - previous.containers)).toFixed(0)} ms / ${((point.previewMs - previous.previewMs) / (point.containers - previous.containers)).toFixed(0)} ms each`
            : "";
        previous = point;
        return [point.label, `${seconds(point.upMs)} s / ${seconds(point.previewMs)} s`, perContainer, added];
    });
}

/**
 * `npm start` when nothing changed (the dev stack on this machine), after one run that brings it up to date; its
 * failure is recorded with its last words, not the end of the run.
 */
function npmStartRow(): string {
    const npmStart = () => execFileSync("npm", ["start"], { cwd: projectRoot, stdio: "pipe", encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    try {
        npmStart();
        return `${seconds(timed(npmStart))} s`;
    } catch (err) {
        const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
        const lines = `${stdout}\n${stderr}\n${(err as Error).message}`.split("\n").map((l) => l.trim()).filter(Boolean);
        const said = lines.filter((l) => /error|berth:/i.test(l));
        return `failed: ${(said.length > 0 ? said : lines).slice(-2).join(" ").replace(/\|/g, "/").slice(0, 300)}`;
    }
}

async function main() {
    const context = appCopy();
    const carefulContext = appCopy();
    const scriptContext = appCopy();
    const env = await throwawayStack({ appContext: context, replicas: String(REPLICAS), keepReleases: "3" });
    const carefulName = `berth-bench-careful-${env.name}`;
    const scriptName = `berth-bench-script-${env.name}`;
    const envFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-")), "env");
    const counter = dockerCounter();
    let removed = false;
    /** The scripts' containers first: they sit on berth's stack network, which goes with the stack. */
    const removeOnce = async () => {
        if (removed) return;
        execFileSync("docker", ["rm", "-f", carefulName, scriptName], { stdio: "ignore" });
        const carefulReplicas = docker("ps", "-aq", "--filter", `label=careful=${carefulName}`).split("\n").filter(Boolean);
        if (carefulReplicas.length > 0) docker("rm", "-f", ...carefulReplicas);
        await env.remove();
        removed = true;
    };
    try {
        const first = await env.stack.up({ color: "never" });
        const berthUrl = `${first.outputs.url.value}/`;
        const repository = first.outputs.imageRef.value.split("@")[0];

        // The scripts' apps: same network, same services, same environment as berth's replicas, their own ports.
        const replica = dockerObjects(env.name).containers.find((n) => n.includes("-shop-"))!;
        const inspected = JSON.parse(docker("inspect", replica))[0];
        // APP_VERSION is the image's own (baked at build time), not part of the shared environment.
        const sharedEnv = inspected.Config.Env.filter((e: string) => !e.startsWith("APP_VERSION="));
        fs.writeFileSync(envFile, sharedEnv.join("\n") + "\n", { mode: 0o600 });
        const network = Object.keys(inspected.NetworkSettings.Networks)[0];

        // The careful script's own nginx (berth's proxy image), in front of its replicas.
        const proxyImage = JSON.parse(docker("inspect", dockerObjects(env.name).containers.find((n) => n.includes("-proxy-"))!))[0].Image;
        const carefulPort = await freePort();
        docker("run", "-d", "--name", carefulName, "--network", network, "-p", `127.0.0.1:${carefulPort}:80`, proxyImage);
        const carefulUrl = `http://127.0.0.1:${carefulPort}/`;
        const carefulArgs = (tag: string) => [carefulContext, `${repository}:careful-${tag}`, carefulName, network, carefulName, envFile, String(REPLICAS)];
        const runCareful = async (tag: string) => {
            await script("bench/careful.sh", ...carefulArgs(tag));
            return `careful-${tag}`;
        };
        await waitForVersion(carefulUrl, await runCareful("0"));

        const scriptPort = await freePort();
        const scriptUrl = `http://127.0.0.1:${scriptPort}/`;
        const runScript = async (tag: string) => {
            await script("bench/stop-rm-run.sh", scriptContext, `${repository}:script-${tag}`, scriptName, network, String(scriptPort), envFile);
            return `script-${tag}`;
        };
        await waitForVersion(scriptUrl, await runScript("0"));

        // 1. A code-only change, deployed by each in turn, ROUNDS times: under load, then quiet (one run of each is
        // too noisy on a small machine to compare; the medians are). Releases and failed requests are counted in all.
        const change = (dir: string, note: string) => fs.appendFileSync(path.join(dir, "server.js"), `\n// ${note}\n`);
        const berthVersion = async () => (await env.stack.outputs()).version.value;
        const underLoad = { berth: [] as Deploy[], careful: [] as Deploy[], script: [] as Deploy[] };
        const quiet = { berth: [] as number[], careful: [] as number[], script: [] as number[] };
        const dockerCalls: number[] = [];
        for (let round = 1; round <= ROUNDS; round++) {
            change(context, `bench release ${round}`);
            counter.count();
            underLoad.berth.push(await deployUnderLoad(berthUrl, () => release(env, { PATH: `${counter.dir}:${process.env.PATH}` }), berthVersion));
            dockerCalls.push(counter.count());
            change(carefulContext, `bench release ${round}`);
            underLoad.careful.push(await deployUnderLoad(carefulUrl, () => runCareful(`${round}-load`), async () => `careful-${round}-load`));
            change(scriptContext, `bench release ${round}`);
            underLoad.script.push(await deployUnderLoad(scriptUrl, () => runScript(`${round}-load`), async () => `script-${round}-load`));
        }
        for (let round = 1; round <= ROUNDS; round++) {
            change(context, `bench release ${round}, quiet`);
            quiet.berth.push(await settledDeploy(berthUrl, () => release(env), berthVersion));
            change(carefulContext, `bench release ${round}, quiet`);
            quiet.careful.push(await settledDeploy(carefulUrl, () => runCareful(`${round}-quiet`), async () => `careful-${round}-quiet`));
            change(scriptContext, `bench release ${round}, quiet`);
            quiet.script.push(await settledDeploy(scriptUrl, () => runScript(`${round}-quiet`), async () => `script-${round}-quiet`));
        }
        const berthDeploy = summarize(underLoad.berth);
        const carefulDeploy = summarize(underLoad.careful);
        const scriptDeploy = summarize(underLoad.script);
        const [berthQuietMs, carefulQuietMs] = [quiet.berth, quiet.careful].map(median);
        /** A median and, after it, every round it comes from. */
        const rounds = (values: number[]) => `${seconds(median(values))} s (${values.map(seconds).join(" / ")})`;
        // The careful script's release again, run by a Pulumi program as its one resource: the engine's floor for it.
        const carefulScript = path.join(projectRoot, "bench", "careful.sh");
        const carefulInPulumiMs = await carefulScriptInPulumi((round) => [carefulScript, ...carefulArgs(`pulumi-${round}`)],
            (round) => change(carefulContext, `bench release ${round}, in a Pulumi program`));

        // 2. Runs with nothing to do, against the engine's floor: the same CLI on an empty program.
        const berthResources = (await env.stack.exportStack()).deployment.resources;
        const { berth: noOp, floor, dynamicFloor, graphFloor } = await noOpTimesWithFloors(env, berthResources);

        // 3. Rollback: the previous digest back into config.
        const outputs = await env.stack.outputs();
        await env.stack.setConfig("berth:image", { value: outputs.previousImageRef.value });
        const rollbackStarted = Date.now();
        await env.stack.up({ color: "never" });
        const rollbackMs = Date.now() - rollbackStarted;
        await env.stack.removeConfig("berth:image");

        // 4. Many releases: what is left on the engine.
        const built = () => new Set(docker("image", "ls", "-q", "--filter", `label=berth.built-by=${env.name}`).split("\n").filter(Boolean)).size;
        for (let i = 0; i < RELEASES; i++) {
            change(context, `release ${i}`);
            await env.stack.up({ color: "never" });
        }
        const exited = docker("ps", "-a", "-q", "--filter", `label=berth.stack=${env.name}`, "--filter", "status=exited").split("\n").filter(Boolean).length;
        const imagesLeft = built();
        await removeOnce();

        // 5. Bigger stacks, one at a time.
        const points = [];
        for (const size of [10, 25, 50]) {
            // A size this machine cannot bring up is a result too: recorded, not the end of the run.
            points.push(await scalePoint(size).catch((err: Error) => ({ label: `stack of ${size} containers`, failed: `first \`up\` failed: ${err.message.split("\n").find((l) => /error:/.test(l))?.trim() ?? err.message.slice(0, 200)}` })));
        }
        const scale = scaleRows(points);

        // 6. `npm start` with nothing to change, setup check included (the dev stack on this machine).
        const npmStart = npmStartRow();

        const rows = [
            [`failed requests during ${ROUNDS} deploys under the load`, `${berthDeploy.load.failed} of ${berthDeploy.load.total}`, `${carefulDeploy.load.failed} of ${carefulDeploy.load.total}`, "", `${scriptDeploy.load.failed} of ${scriptDeploy.load.total}`],
            [`code-only release (build + push + replace 2 replicas), under the load: median of ${ROUNDS}`, rounds(underLoad.berth.map((d) => d.ms)), rounds(underLoad.careful.map((d) => d.ms)), ratio(berthDeploy.ms, carefulDeploy.ms), rounds(underLoad.script.map((d) => d.ms))],
            [`code-only release, no load: median of ${ROUNDS}, in turn with the scripts`, rounds(quiet.berth), rounds(quiet.careful), ratio(berthQuietMs, carefulQuietMs), rounds(quiet.script)],
            ["code-only release, no load, less the engine's floor for berth's resources (one no-op dynamic resource, measured below)", `${seconds(berthQuietMs - dynamicFloor.upMs)} s`, `${seconds(carefulQuietMs)} s`, ratio(berthQuietMs - dynamicFloor.upMs, carefulQuietMs), ""],
            [`the careful script's release run by Pulumi (a program whose one dynamic resource runs it): the engine's floor for that release, median of ${ROUNDS}`, `${seconds(carefulInPulumiMs)} s`, `${seconds(carefulQuietMs)} s`, ratio(carefulInPulumiMs, carefulQuietMs), ""],
            ["berth's release, no load, against that floor", `${seconds(berthQuietMs)} s`, `${seconds(carefulInPulumiMs)} s (the careful script in Pulumi)`, ratio(berthQuietMs, carefulInPulumiMs), ""],
            // A release that sweeps the engine (one in SWEEP_EVERY_RELEASES) lists and prunes its images besides.
            ["docker CLI processes per release, each release under the load", `${median(dockerCalls)} (${dockerCalls.join(" / ")})`, "", "", ""],
            ["rollback to the previous release", `${seconds(rollbackMs)} s`, "", "", "n/a"],
            [`app images left after ${RELEASES} more releases (keepReleases 3)`, String(imagesLeft), "", "", "every build"],
            ["exited containers left", String(exited), "", "", ""],
        ];
        const floorRows = [
            [`no-op \`up --yes --skip-preview\` (2 replicas, proxy, Redis, Postgres: 5 containers, 22 resources): median of ${ROUNDS}, in turn with each floor`, `${seconds(noOp.upMs)} s`, `${seconds(floor.upMs)} s`, ratio(noOp.upMs, floor.upMs)],
            ["`preview`, nothing to change", `${seconds(noOp.previewMs)} s`, `${seconds(floor.previewMs)} s`, ratio(noOp.previewMs, floor.previewMs)],
            ["the floor with berth's resource mechanism: one no-op dynamic resource, `up` / `preview`", `${seconds(dynamicFloor.upMs)} s / ${seconds(dynamicFloor.previewMs)} s`, `${seconds(floor.upMs)} s / ${seconds(floor.previewMs)} s`, `${ratio(dynamicFloor.upMs, floor.upMs)} / ${ratio(dynamicFloor.previewMs, floor.previewMs)}`],
            ["berth's no-op `up` / `preview` against that floor", `${seconds(noOp.upMs)} s / ${seconds(noOp.previewMs)} s`, `${seconds(dynamicFloor.upMs)} s / ${seconds(dynamicFloor.previewMs)} s (one dynamic resource)`, `${ratio(noOp.upMs, dynamicFloor.upMs)} / ${ratio(noOp.previewMs, dynamicFloor.previewMs)}`],
            [`the floor of berth's resource graph: the same ${berthResources.length - 1} resources, each doing nothing, \`up\` / \`preview\``, `${seconds(graphFloor.upMs)} s / ${seconds(graphFloor.previewMs)} s`, `${seconds(floor.upMs)} s / ${seconds(floor.previewMs)} s`, `${ratio(graphFloor.upMs, floor.upMs)} / ${ratio(graphFloor.previewMs, floor.previewMs)}`],
            ["berth's no-op `up` / `preview` against its graph's floor", `${seconds(noOp.upMs)} s / ${seconds(noOp.previewMs)} s`, `${seconds(graphFloor.upMs)} s / ${seconds(graphFloor.previewMs)} s (the graph alone)`, `${ratio(noOp.upMs, graphFloor.upMs)} / ${ratio(noOp.previewMs, graphFloor.previewMs)}`],
            ["`npm start`, nothing to change (setup check, config, up, answer check)", npmStart, "", ""],
        ];
        const table = [
            "| measure | berth | careful script | berth ÷ careful | stop/rm/run script |", "|---|---|---|---|---|", ...rows.map((r) => `| ${r.join(" | ")} |`),
            "", "| measure | berth | empty program (the engine's floor) | berth ÷ floor |", "|---|---|---|---|", ...floorRows.map((r) => `| ${r.join(" | ")} |`),
            "", "| stack size | no-op up / preview | per container | each container added since the size above |", "|---|---|---|---|", ...scale.map((r) => `| ${r.join(" | ")} |`),
        ].join("\n");
        console.log(`\n${table}\n`);
        console.log("failures by kind — berth:", berthDeploy.load.failures, "careful:", carefulDeploy.load.failures, "stop/rm/run:", scriptDeploy.load.failures);
        // `BENCH_ONLY=local`: the rows on this machine's engine alone, without the test hosts' and the swarm's.
        const localOnly = process.env.BENCH_ONLY === "local";
        const hostsTable = localOnly ? "" : await hostsBench();
        const swarmTable = localOnly ? "" : await swarmBench();
        console.log(`\n${hostsTable}\n\n${swarmTable}\n`);
        const record = [
            `## ${new Date().toISOString().slice(0, 10)} — \`${localOnly ? "BENCH_ONLY=local " : ""}npm run bench\``,
            "",
            `Machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; Docker ${docker("version", "--format", "{{.Server.Version}}")}; ${REPLICAS} replicas behind berth's proxy vs ${REPLICAS} behind the careful script's nginx vs one container published directly; load: 8 concurrent keep-alive clients on loopback.`,
            "",
            table,
            "",
            `Failures by kind: careful ${JSON.stringify(carefulDeploy.load.failures)}, stop/rm/run ${JSON.stringify(scriptDeploy.load.failures)}.`,
            "",
            ...(localOnly ? [] : [HOSTS_NOTE, "", hostsTable, "", SWARM_NOTE, "", swarmTable, ""]),
        ].join("\n");
        recordSection(record);
    } finally {
        await removeOnce();
        for (const dir of [context, carefulContext, scriptContext, path.dirname(envFile), counter.dir]) fs.rmSync(dir, { recursive: true, force: true });
    }
}

const HOSTS_NOTE = "On real hosts: 3 test hosts (network namespaces, each with its own dockerd and sshd, scripts/hosts.sh), the app built here and pulled by digest from the hosts' TLS registry; load: 4 keep-alive clients per host's proxy.";

const SWARM_NOTE = "On a swarm: the same 3 test hosts as one cluster formed by berth (dockerd without live-restore), Redis and Postgres pinned to the third; the same load, 4 keep-alive clients per node's proxy, kept on until at least 10,000 requests.";

/** Adds a run's section at the top of docs/BENCHMARKS.md. */
function recordSection(record: string): void {
    const file = path.join(projectRoot, "docs", "BENCHMARKS.md");
    const header = "# Benchmarks\n\nEach section is one run of the command in its title; ratios compare berth and the baseline measured in that same run.\n\n";
    const previous = fs.existsSync(file) ? fs.readFileSync(file, "utf8").replace(header, "") : "";
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, header + record + "\n" + previous);
}

const FRONT_DOOR_NOTE = "The front door: test host h1 (its own dockerd and sshd), one stack (2 replicas) with a name on the host's ingress and a certificate from the test ACME server (pebble), measured from this machine; the same stack's proxy on its own port, same run.";

const BACKUPS_NOTE = "Backups: a stack on test host h1 (its own dockerd and sshd), its Postgres filled with generated rows, the restic repository over SFTP on test host h2; the baseline in the same run is the usual CI script: `pg_dump -Fc` piped over SSH into a file on h2, and back into `pg_restore`.";

const STATE_NOTE = "Shared state: the same stack (app, Redis, Postgres on this machine's engine), its state in the local file backend or in the team's Postgres (npm run state-server) on test host h1, reached over its veth; no-op ups in turn, same run.";

const CANARY_NOTE = "Watched releases: two identical stacks (2 replicas, Redis, Postgres) on this machine's engine, one of them with berth:canary; the same failing release under the same load, one after the other, same run.";

/** `BENCH_ONLY=hosts|swarm|frontdoor|backups|state|canary npm run bench`: the rows on test hosts, on a swarm of them, of the front door, of backups, of the shared state, or of watched releases, alone (`local`: see main). */
async function onlyOnHosts(kind: "hosts" | "swarm" | "frontdoor" | "backups" | "state" | "canary"): Promise<void> {
    const { bench, note } = {
        hosts: { bench: hostsBench, note: HOSTS_NOTE }, swarm: { bench: swarmBench, note: SWARM_NOTE }, frontdoor: { bench: frontDoorBench, note: FRONT_DOOR_NOTE },
        backups: { bench: backupsBench, note: BACKUPS_NOTE }, state: { bench: stateBackendBench, note: STATE_NOTE },
        canary: { bench: canaryBench, note: CANARY_NOTE },
    }[kind];
    const table = await bench();
    console.log(`\n${table}\n`);
    recordSection([`## ${new Date().toISOString().slice(0, 10)} — \`BENCH_ONLY=${kind} npm run bench\``, "", `Machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB. ${note}`, "", table, ""].join("\n"));
}

const only = process.env.BENCH_ONLY;
(only === "hosts" || only === "swarm" || only === "frontdoor" || only === "backups" || only === "state" || only === "canary" ? onlyOnHosts(only) : main()).catch((err) => {
    console.error(err);
    process.exit(1);
});
