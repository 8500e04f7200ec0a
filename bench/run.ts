/**
 * `npm run bench`: berth against the hand-written stop/rm/run script, in one run, on the same engine, app,
 * images, services and load. Prints a table of ratios and records it in docs/BENCHMARKS.md.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as nodeHttp from "http";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { startLoad, LoadResult } from "../test/load";
import { appCopy, docker, dockerObjects, freePort, projectRoot, throwawayStack } from "../test/integration/harness";

const RELEASES = Number(process.env.BENCH_RELEASES ?? 20);
const seconds = (ms: number) => (ms / 1000).toFixed(1);

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

/** Runs `deploy` under steady load; keeps the load on until `url` answers `version`, then 2 s more. */
async function deployUnderLoad(url: string, deploy: () => Promise<string>): Promise<{ ms: number; load: LoadResult; version: string }> {
    const load = startLoad(url);
    const started = Date.now();
    const version = await deploy();
    const ms = Date.now() - started;
    await waitForVersion(url, version);
    await new Promise((r) => setTimeout(r, 2000));
    return { ms, load: await load.stop(), version };
}

/** Wall time of `up` (nothing to change) of a program with no resources, through the same Automation API. */
async function emptyProgramUpMs(): Promise<number> {
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-floor-"));
    try {
        const stack = await LocalWorkspace.createOrSelectStack(
            { stackName: "floor", projectName: "berth-floor", program: async () => ({}) },
            { envVars: { PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "bench" } },
        );
        await stack.up({ color: "never" });
        const started = Date.now();
        await stack.up({ color: "never" });
        return Date.now() - started;
    } finally {
        fs.rmSync(backend, { recursive: true, force: true });
    }
}

async function main() {
    const context = appCopy();
    const scriptContext = appCopy();
    const env = await throwawayStack({ appContext: context, replicas: "2", keepReleases: "3" });
    const scriptName = `berth-bench-script-${env.name}`;
    const envFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-")), "env");
    try {
        const first = await env.stack.up({ color: "never" });
        const berthUrl = `${first.outputs.url.value}/`;
        const repository = first.outputs.imageRef.value.split("@")[0];

        // The script's app: same network, same services, same environment as berth's replicas, its own port.
        const replica = dockerObjects(env.name).containers.find((n) => n.includes("-shop-"))!;
        const inspected = JSON.parse(docker("inspect", replica))[0];
        // APP_VERSION is the image's own (baked at build time), not part of the shared environment.
        const sharedEnv = inspected.Config.Env.filter((e: string) => !e.startsWith("APP_VERSION="));
        fs.writeFileSync(envFile, sharedEnv.join("\n") + "\n", { mode: 0o600 });
        const network = Object.keys(inspected.NetworkSettings.Networks)[0];
        const scriptPort = await freePort();
        const scriptUrl = `http://127.0.0.1:${scriptPort}/`;
        const runScript = (tag: string) => {
            execFileSync("bash", [path.join(projectRoot, "bench/stop-rm-run.sh"), scriptContext, `${repository}:script-${tag}`, scriptName, network, String(scriptPort), envFile], { stdio: "inherit" });
            return `script-${tag}`;
        };
        // The script bakes its image tag in as APP_VERSION, so the switch is visible in the answers.
        await waitForVersion(scriptUrl, runScript("0"));

        // 1. A code-only change, deployed under load by each.
        fs.appendFileSync(path.join(context, "server.js"), "\n// bench release\n");
        const berthDeploy = await deployUnderLoad(berthUrl, async () => (await env.stack.up({ color: "never" })).outputs.version.value);
        fs.appendFileSync(path.join(scriptContext, "server.js"), "\n// bench release\n");
        const scriptDeploy = await deployUnderLoad(scriptUrl, async () => runScript("1"));

        // The same change once more, without load: the wall time of the deploy alone.
        fs.appendFileSync(path.join(context, "server.js"), "\n// bench release, quiet\n");
        const berthQuietStarted = Date.now();
        await env.stack.up({ color: "never" });
        const berthQuietMs = Date.now() - berthQuietStarted;
        fs.appendFileSync(path.join(scriptContext, "server.js"), "\n// bench release, quiet\n");
        const scriptQuietStarted = Date.now();
        runScript("2");
        const scriptQuietMs = Date.now() - scriptQuietStarted;

        // The floor under any Pulumi deploy on this machine: the engine alone, running a program with no resources.
        const floorMs = await emptyProgramUpMs();

        // 2. Rollback: the previous digest back into config.
        const outputs = await env.stack.outputs();
        await env.stack.setConfig("berth:image", { value: outputs.previousImageRef.value });
        const rollbackStarted = Date.now();
        await env.stack.up({ color: "never" });
        const rollbackMs = Date.now() - rollbackStarted;
        await env.stack.removeConfig("berth:image");

        // 3. Many releases: what is left on the engine.
        const built = () => new Set(docker("image", "ls", "-q", "--filter", `label=berth.built-by=${env.name}`).split("\n").filter(Boolean)).size;
        for (let i = 0; i < RELEASES; i++) {
            fs.appendFileSync(path.join(context, "server.js"), `\n// release ${i}\n`);
            await env.stack.up({ color: "never" });
        }
        const exited = docker("ps", "-a", "-q", "--filter", `label=berth.stack=${env.name}`, "--filter", "status=exited").split("\n").filter(Boolean).length;

        const rows = [
            ["failed requests during a deploy", `${berthDeploy.load.failed} of ${berthDeploy.load.total}`, `${scriptDeploy.load.failed} of ${scriptDeploy.load.total}`, ""],
            ["code-only change deploy (build + push + replace), under the load", `${seconds(berthDeploy.ms)} s`, `${seconds(scriptDeploy.ms)} s`, `${(berthDeploy.ms / scriptDeploy.ms).toFixed(2)}×`],
            ["code-only change deploy, no load", `${seconds(berthQuietMs)} s`, `${seconds(scriptQuietMs)} s`, `${(berthQuietMs / scriptQuietMs).toFixed(2)}×`],
            ["Pulumi engine alone: `up` of an empty program (the floor), vs the script without load", `${seconds(floorMs)} s`, `${seconds(scriptQuietMs)} s`, `${(floorMs / scriptQuietMs).toFixed(2)}×`],
            ["rollback to the previous release", `${seconds(rollbackMs)} s`, "n/a (rebuild or find the old tag)", ""],
            [`app images left after ${RELEASES} more releases (keepReleases 3)`, String(built()), "every build (no cleanup)", ""],
            ["exited containers left", String(exited), "", ""],
        ];
        const table = ["| measure | berth | stop/rm/run script | berth ÷ script |", "|---|---|---|---|", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
        console.log(`\n${table}\n`);
        console.log("failures by kind — berth:", berthDeploy.load.failures, "script:", scriptDeploy.load.failures);
        const record = [
            `## ${new Date().toISOString().slice(0, 10)} — \`npm run bench\``,
            "",
            `Machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; Docker ${docker("version", "--format", "{{.Server.Version}}")}; 2 replicas behind berth's proxy vs one container published directly; load: 8 concurrent keep-alive clients on loopback.`,
            "",
            table,
            "",
            `Script failures by kind: ${JSON.stringify(scriptDeploy.load.failures)}.`,
            "",
        ].join("\n");
        const file = path.join(projectRoot, "docs", "BENCHMARKS.md");
        const header = "# Benchmarks\n\nEach section is one run of the command in its title; ratios compare berth and the baseline measured in that same run.\n\n";
        const previous = fs.existsSync(file) ? fs.readFileSync(file, "utf8").replace(header, "") : "";
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, header + record + "\n" + previous);
    } finally {
        docker("rm", "-f", scriptName);
        await env.remove();
        for (const dir of [context, scriptContext, path.dirname(envFile)]) fs.rmSync(dir, { recursive: true, force: true });
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
