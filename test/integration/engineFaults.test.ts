import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as crypto from "crypto";
import { startLoad } from "../load";
import { appCopy, cleanHosts, dockerAt, hostServices, http, projectRoot, restartTestHostEngine, testHosts, testRegistry, ThrowawayStack, throwawayStack } from "./harness";
import { testHostsDir } from "../../components/cacheLayout";

const hostDir = path.join(testHostsDir(), "h3");
const hosts = (...args: string[]) => execFileSync("bash", [path.join(projectRoot, "scripts/hosts.sh"), ...args], { encoding: "utf8" });
const dockerdPid = () => Number(fs.readFileSync(path.join(hostDir, "dockerd.pid"), "utf8"));
async function until(what: string, condition: () => boolean, seconds = 60): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`${what} did not happen within ${seconds}s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}

/**
 * Faults of the engine a stack runs on, on an engine of its own (test host h3, live-restore on as berth's engines
 * run): dockerd restarted under load, a full disk and a registry that does not answer during a release.
 */
describe("faults of the engine under a running stack", () => {
    let env: ThrowawayStack;
    let engine: string;
    let url: string;
    const context = appCopy();
    const version = async () => (await http("GET", `${url}/`)).json.version;

    // berth:registry left unset: a stack on test hosts only uses their registry.
    beforeAll(async () => {
        engine = (await testHosts(3))[2];
        env = await throwawayStack({ appContext: context, hosts: [engine], bindAddress: "0.0.0.0", replicas: "2", services: hostServices });
        const outputs = (await env.stack.up({ color: "never" })).outputs;
        expect(outputs.imageRef.value.startsWith(`${testRegistry}/`)).toBe(true);
        url = outputs.url.value;
    });
    afterAll(async () => {
        await env?.remove();
        if (engine) cleanHosts([engine], env.name);
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("keeps answering with no failed request while dockerd stops and starts, and the next up changes nothing", async () => {
        const load = startLoad(`${url}/`, 4, 180);
        try {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            await restartTestHostEngine("h3", engine); // the app serves with no engine at all meanwhile
            await new Promise((resolve) => setTimeout(resolve, 2000));
        } finally {
            const result = await load.stop();
            console.log(`engine restart: ${result.total} requests, failures`, result.failures);
            expect(result.failures).toEqual({});
            expect(result.total).toBeGreaterThan(500);
        }
        const again = await env.stack.up({ color: "never" });
        expect(Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
    });

    it("a full disk fails the release naming the host and the cause; the old release serves; with space again, up converges", async () => {
        const before = await version();
        // A release whose new layer (32 MB, incompressible) cannot fit in what is left.
        fs.writeFileSync(path.join(context, "ballast.bin"), crypto.randomBytes(32 * 1024 * 1024));
        hosts("fill", "h3");
        try {
            await expect(env.stack.up({ color: "never" })).rejects.toThrow(/ssh:\/\/deploy@192\.168\.240\.13: its disk is full/);
            expect(await version()).toBe(before);
        } finally {
            hosts("unfill", "h3");
        }
        await env.stack.up({ color: "never" });
        expect(await version()).not.toBe(before);
    });

    it("a registry that does not answer fails the release with the cause named; the old release serves", async () => {
        const before = await version();
        fs.appendFileSync(path.join(context, "server.js"), `\n// release ${Date.now()}\n`);
        const registryPid = Number(fs.readFileSync(path.join(testHostsDir(), "registry", "pid"), "utf8"));
        process.kill(registryPid, "SIGKILL");
        try {
            await expect(env.stack.up({ color: "never" })).rejects.toThrow(/cannot reach 192\.168\.240\.2:5000/);
            expect(await version()).toBe(before);
        } finally {
            await testHosts(3); // starts the registry again
        }
        await env.stack.up({ color: "never" });
        expect(await version()).not.toBe(before);
    });

    it("warns at preview about an engine without live-restore, with the fix, and changes nothing", async () => {
        const config = path.join(hostDir, "etc-docker", "daemon.json");
        const saved = fs.readFileSync(config, "utf8");
        // live-restore is reloadable: SIGHUP applies the change without stopping anything.
        fs.writeFileSync(config, saved.replace('"live-restore": true', '"live-restore": false'));
        process.kill(dockerdPid(), "SIGHUP");
        try {
            await until("the reload", () => dockerAt(engine, "info", "--format", "{{.LiveRestoreEnabled}}") === "false", 20);
            const preview = await env.stack.preview({ color: "never" });
            expect(preview.stdout).toMatch(/ssh:\/\/deploy@192\.168\.240\.13 runs without live-restore[^]*"live-restore": true in \/etc\/docker\/daemon\.json/);
            expect(Object.keys(preview.changeSummary).filter((k) => k !== "same")).toEqual([]);
        } finally {
            fs.writeFileSync(config, saved);
            process.kill(dockerdPid(), "SIGHUP");
        }
    });
});
