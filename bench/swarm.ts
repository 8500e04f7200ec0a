/**
 * The rows of `npm run bench` on a swarm: 3 test hosts as one cluster (berth forms it). The same app, the same
 * load spread over every node's proxy, released as a swarm service and as containers on the same 3 hosts
 * (berth:orchestrator hosts, one host at a time); then swarm release time for 3, 6 and 12 replicas.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { spreadLoad } from "./hosts";
import { appCopy, cleanHosts, testHosts, testRegistry, throwawayStack } from "../test/integration/harness";

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** A stack on the 3 hosts with services pinned to the last one; `release()` changes the code and deploys. */
async function stackOn(engines: string[], orchestrator: "hosts" | "swarm", replicas: number) {
    const context = appCopy();
    const stack = await throwawayStack({
        appContext: context,
        hosts: engines,
        orchestrator,
        replicas: String(replicas),
        bindAddress: "0.0.0.0",
        registry: testRegistry,
        swarmMonitorSeconds: "3",
        services: {
            redis: { kind: "redis", image: `${testRegistry}/berth/redis:7`, host: engines[2] },
            postgres: { kind: "postgres", image: `${testRegistry}/berth/postgres:15`, host: engines[2] },
        },
    }, { redisPassword: crypto.randomBytes(12).toString("hex") });
    const urls: string[] = (await stack.stack.up({ color: "never" })).outputs.urls.value;
    let n = 0;
    return {
        stack,
        urls,
        async release(): Promise<number> {
            fs.appendFileSync(path.join(context, "server.js"), `\n// bench release ${++n}\n`);
            const started = Date.now();
            await stack.stack.up({ color: "never" });
            return Date.now() - started;
        },
        async remove() {
            await stack.remove();
            cleanHosts(engines, stack.name);
            fs.rmSync(context, { recursive: true, force: true });
        },
    };
}

export async function swarmBench(): Promise<string> {
    const engines = await testHosts(3, { swarm: true });
    const rows: string[][] = [];
    for (const orchestrator of ["hosts", "swarm"] as const) {
        const s = await stackOn(engines, orchestrator, 6);
        try {
            await s.release(); // warm: the first release after create pulls the new layers everywhere
            const release = s.release();
            const load = await spreadLoad(s.urls, 10_000, release);
            const ms = await release;
            rows.push([`release of 6 replicas on 3 nodes under load on 3 proxies: ${orchestrator === "swarm" ? "swarm service (start-first)" : "berth:orchestrator hosts (one host at a time)"}`,
                `${seconds(ms)} s`, `${load.failed} failed of ${load.total} ${JSON.stringify(load.failures)}`]);
            if (orchestrator === "swarm") {
                for (const replicas of [3, 6, 12]) {
                    await s.stack.stack.setConfig("berth:replicas", { value: String(replicas) });
                    await s.stack.stack.up({ color: "never" });
                    rows.push([`swarm release, ${replicas} replicas, no load`, `${seconds(await s.release())} s`, ""]);
                }
            }
        } finally {
            await s.remove();
        }
    }
    return ["| on a 3-node swarm (test hosts) | berth | |", "|---|---|---|", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}
