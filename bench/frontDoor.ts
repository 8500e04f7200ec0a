/**
 * The front door's rows of `npm run bench` (`BENCH_ONLY=frontdoor`): on test host h1, one stack with a name on the
 * host's ingress (certificate from the test ACME server), measured in the same run through the front door (HTTPS,
 * keep-alive) and straight at the stack's own proxy (plain HTTP on its port): latency of single requests (p50/p99),
 * requests per second with 8 clients, and failed requests during releases under keep-alive load through the front
 * door against the stack's proxy with one request per connection (berth's default without it); and failed requests
 * while the host's ingress is upgraded under keep-alive load, by berth against replacing its container by hand.
 */
import * as crypto from "crypto";
import * as http from "http";
import * as https from "https";
import { startLoad } from "../test/load";
import { dockerAt, hostServices, runIngressByHand, startOlderIngress, testAcme, testHosts, testHostsCa } from "../test/integration/harness";
import { withStack } from "./hosts";

/** h1's address: where the ACME server's DNS sends every .test name. */
const H1 = "192.168.240.11";
const SAMPLES = 2000;
const LOAD_SECONDS = 10;
const UPGRADES = 3;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const ms = (value: number) => `${value.toFixed(2)} ms`;

/** An agent that sends the URL's name to h1, as DNS would, keeping connections. */
function agentFor(url: string, roots: string): http.Agent {
    const lookup = (_name: string, options: { all?: boolean }, done: (...args: unknown[]) => void) => (options.all ? done(null, [{ address: H1, family: 4 }]) : done(null, H1, 4));
    return url.startsWith("https:") ? new https.Agent({ keepAlive: true, ca: [roots], lookup } as https.AgentOptions) : new http.Agent({ keepAlive: true, lookup } as http.AgentOptions);
}

function get(url: string, agent: http.Agent): Promise<void> {
    return new Promise((resolve, reject) => {
        (url.startsWith("https:") ? https : http).get(url, { agent }, (response) => {
            response.resume();
            response.on("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`status ${response.statusCode}`))));
        }).on("error", reject);
    });
}

/** Latency of `SAMPLES` requests one after another on one kept connection, sorted (ms). */
async function latencies(url: string, roots: string): Promise<number[]> {
    const agent = agentFor(url, roots);
    for (let i = 0; i < 50; i++) await get(url, agent);
    const times: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
        const started = process.hrtime.bigint();
        await get(url, agent);
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    agent.destroy();
    return times.sort((a, b) => a - b);
}

/** Requests per second with 8 keep-alive clients for LOAD_SECONDS. */
async function throughput(url: string, roots: string): Promise<number> {
    const load = startLoad(url, 8, LOAD_SECONDS + 5, { ca: [roots], address: H1 });
    await new Promise((resolve) => setTimeout(resolve, LOAD_SECONDS * 1000));
    const result = await load.stop();
    if (result.failed > 0) throw new Error(`${url}: ${result.failed} failed requests while measuring throughput: ${JSON.stringify(result.failures)}`);
    return result.total / LOAD_SECONDS;
}

/** Failed and total requests of keep-alive clients on `url` (retrying a kept connection closed under them) while `act` runs. */
async function failedDuring(url: string, roots: string, act: () => Promise<unknown>): Promise<{ failed: number; total: number }> {
    const load = startLoad(url, 8, 600, { ca: [roots], address: H1, retryClosedKeepAlive: true });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await act();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const { failed, total } = await load.stop();
    return { failed, total };
}

/** Waits (at most 60 s) until `url` answers 200. */
async function answering(url: string, roots: string): Promise<void> {
    const agent = agentFor(url, roots);
    for (const deadline = Date.now() + 60_000; ; await new Promise((resolve) => setTimeout(resolve, 200))) {
        if (await get(url, agent).then(() => true, () => false)) break;
        if (Date.now() > deadline) throw new Error(`${url} did not answer within 60 s`);
    }
    agent.destroy();
}

const sum = (runs: { failed: number; total: number }[]) => `${runs.reduce((n, r) => n + r.failed, 0)} of ${runs.reduce((n, r) => n + r.total, 0)}`;

export async function frontDoorBench(): Promise<string> {
    const engines = await testHosts(1, { acmeValiditySeconds: 7776000 });
    const name = `bench-${crypto.randomBytes(3).toString("hex")}.test`;
    const config = { services: hostServices, domains: [name], acmeServer: testAcme!.directory, acmeCaCertificates: testHostsCa() };
    return withStack([engines[0]], 2, async (s) => {
        const roots = testAcme!.roots;
        const direct = `http://${H1}:${(await s.stack.stack.getConfig("berth:hostPort")).value}/`;
        const front = `https://${name}/`;
        const [directTimes, frontTimes] = [await latencies(direct, roots), await latencies(front, roots)];
        const [directRps, frontRps] = [await throughput(direct, roots), await throughput(front, roots)];
        // Releases under load: keep-alive clients through the front door, one request per connection at the proxy.
        const viaFront = startLoad(front, 8, 600, { ca: [roots], address: H1 });
        const perConnection = startLoad(direct, 8, 600);
        for (let i = 0; i < 3; i++) await s.release();
        const [frontLoad, directLoad] = [await viaFront.stop(), await perConnection.stop()];
        // Ingress upgrades: berth's (`up` after the running one was made to look older) against a script's
        // `docker stop; docker rm; docker run` of the same image.
        const [byBerth, byHand] = [[], []] as { failed: number; total: number }[][];
        for (let i = 0; i < UPGRADES; i++) {
            const image = startOlderIngress(engines[0]);
            await answering(front, roots);
            byBerth.push(await failedDuring(front, roots, () => s.stack.stack.up({ color: "never" })));
            byHand.push(await failedDuring(front, roots, async () => {
                dockerAt(engines[0], "stop", "berth-ingress");
                dockerAt(engines[0], "rm", "berth-ingress");
                runIngressByHand(engines[0], image);
                await answering(front, roots);
            }));
        }
        const rows = [
            ["measure", "through the front door (HTTPS, keep-alive)", "the stack's proxy itself (HTTP)", "front door ÷ proxy"],
            ["---", "---", "---", "---"],
            [`latency of one request, ${SAMPLES} in a row on one connection: p50`, ms(percentile(frontTimes, 0.5)), ms(percentile(directTimes, 0.5)), `${(percentile(frontTimes, 0.5) / percentile(directTimes, 0.5)).toFixed(2)}×`],
            ["the same: p99", ms(percentile(frontTimes, 0.99)), ms(percentile(directTimes, 0.99)), `${(percentile(frontTimes, 0.99) / percentile(directTimes, 0.99)).toFixed(2)}×`],
            [`requests per second, 8 keep-alive clients, ${LOAD_SECONDS} s`, frontRps.toFixed(0), directRps.toFixed(0), `${(frontRps / directRps).toFixed(2)}×`],
            ["failed requests during 3 releases under load (front door: keep-alive clients; proxy: keepAliveSeconds 0, its default)", `${frontLoad.failed} of ${frontLoad.total}`, `${directLoad.failed} of ${directLoad.total}`, ""],
        ];
        const upgradeRows = [
            ["measure", "berth's upgrade (dark start)", "by hand: docker stop, rm, run", ""],
            ["---", "---", "---", "---"],
            [`failed requests during ${UPGRADES} ingress upgrades, 8 keep-alive clients (a kept connection closed under one is sent again)`, sum(byBerth), sum(byHand), ""],
        ];
        return [rows, upgradeRows].map((table) => table.map((row) => `| ${row.join(" | ")} |`).join("\n")).join("\n\n");
    }, { ...config, bindAddress: "0.0.0.0" });
}
