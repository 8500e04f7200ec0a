/**
 * The rows of `npm run bench` on a swarm: 3 test hosts as one cluster (berth forms it). The same app, the same
 * load spread over every node's proxy, released as a swarm service and as containers on the same 3 hosts
 * (berth:orchestrator hosts, one host at a time); then swarm release time for 3, 6 and 12 replicas.
 */
import { hostServices, testHosts } from "../test/integration/harness";
import { spreadLoad, withStack } from "./hosts";

const seconds = (ms: number) => (ms / 1000).toFixed(1);

export async function swarmBench(): Promise<string> {
    const engines = await testHosts(3, { swarm: true });
    const rows: string[][] = [];
    for (const orchestrator of ["hosts", "swarm"] as const) {
        await withStack(engines, 6, async (s) => {
            await s.release(); // warm: the first release after create pulls the new layers everywhere
            const release = s.release();
            const load = await spreadLoad(s.urls, 10_000, release);
            rows.push([`release of 6 replicas on 3 nodes under load on 3 proxies: ${orchestrator === "swarm" ? "swarm service (start-first)" : "berth:orchestrator hosts (one host at a time)"}`,
                `${seconds(await release)} s`, `${load.failed} failed of ${load.total} ${JSON.stringify(load.failures)}`]);
            if (orchestrator === "hosts") return;
            for (const replicas of [3, 6, 12]) {
                await s.stack.stack.setConfig("berth:replicas", { value: String(replicas) });
                await s.stack.stack.up({ color: "never" });
                rows.push([`swarm release, ${replicas} replicas, no load`, `${seconds(await s.release())} s`, ""]);
            }
        }, {
            orchestrator,
            swarmMonitorSeconds: "3",
            // Services on the third node, with their volumes.
            services: Object.fromEntries(Object.entries(hostServices).map(([name, service]) => [name, { ...service, host: engines[2] }])),
        });
    }
    return ["| on a 3-node swarm (test hosts) | berth | |", "|---|---|---|", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}
