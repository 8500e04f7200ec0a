/**
 * The rows of `npm run bench` on real hosts: test hosts (scripts/hosts.sh), each its own machine with its own
 * dockerd reached over SSH, pulling from the hosts' TLS registry. The same release to one remote host and to the
 * local engine (same registry, same app), releases to 1, 2 and 3 hosts one host at a time and all at once, SSH
 * handshakes per release, and failed requests of a load spread over every host's proxy during a 3-host rollout.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { docker } from "../components/docker/cli";
import { withRegistryLogin } from "../components/docker/providers/image";
import { startLoad, LoadResult } from "../test/load";
import { appCopy, devServices, hostServices, testHosts, testRegistry, throwawayStack } from "../test/integration/harness";
import { testHostsDir } from "../components/cacheLayout";

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const sshLogins = (host: string) =>
    (fs.readFileSync(path.join(testHostsDir(), host, "log", "sshd.log"), "utf8").match(/Accepted publickey/g) ?? []).length;

/**
 * A stack on `hosts` (none: the local engine) with its own copy of the app and `config` on top; `release()` changes
 * its code and deploys.
 */
async function benchStack(hosts: string[], replicas: number, config: Record<string, string | object> = {}) {
    const context = appCopy();
    const stack = await throwawayStack({
        appContext: context,
        registry: testRegistry,
        replicas: String(replicas),
        ...(hosts.length > 0 ? { hosts, bindAddress: "0.0.0.0", services: hostServices } : { services: devServices }),
        ...config,
    }, { redisPassword: crypto.randomBytes(12).toString("hex") });
    const urls: string[] = (await stack.stack.up({ color: "never" })).outputs.urls.value;
    let n = 0;
    return {
        stack,
        urls,
        /** Wall time of one code-only release. */
        async release(): Promise<number> {
            fs.appendFileSync(path.join(context, "server.js"), `\n// bench release ${++n}\n`);
            const started = Date.now();
            await stack.stack.up({ color: "never" });
            return Date.now() - started;
        },
        async remove() {
            await stack.remove();
            fs.rmSync(context, { recursive: true, force: true });
        },
    };
}

export async function withStack<T>(hosts: string[], replicas: number, run: (s: Awaited<ReturnType<typeof benchStack>>) => Promise<T>, config: Record<string, string | object> = {}): Promise<T> {
    const s = await benchStack(hosts, replicas, config);
    try {
        return await run(s);
    } finally {
        await s.remove();
    }
}

/** Load on every URL until `done` settles and at least `minimum` requests were sent in all. */
export async function spreadLoad(urls: string[], minimum: number, done: Promise<unknown>): Promise<LoadResult> {
    const loads = urls.map((url) => startLoad(`${url}/`, 4, 600));
    await done;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const results: LoadResult[] = [];
    for (const load of loads) results.push(await load.stop());
    const total = results.reduce((sum, r) => sum + r.total, 0);
    if (total < minimum) {
        // The rollout ended first: keep the same load on the new release until the total is reached.
        const more = await spreadLoad(urls, minimum - total, new Promise((resolve) => setTimeout(resolve, 1000)));
        results.push(more);
    }
    return results.reduce((sum, r) => ({
        total: sum.total + r.total,
        failed: sum.failed + r.failed,
        failures: Object.fromEntries([...new Set([...Object.keys(sum.failures), ...Object.keys(r.failures)])].map((k) => [k, (sum.failures[k] ?? 0) + (r.failures[k] ?? 0)])),
        answers: [],
    }), { total: 0, failed: 0, failures: {}, answers: [] } as LoadResult);
}

/**
 * What a release asks of an engine itself, timed through berth's own transport: pull the release (on a host that
 * did not build it), then for each of 2 replicas start a container of it, run a probe in it, remove it.
 */
async function engineFloorMs(engine: string, image: string, pull: boolean): Promise<number> {
    const started = Date.now();
    if (pull) {
        const password = fs.readFileSync(process.env.BERTH_REGISTRY_PASSWORD_FILE!, "utf8").trim();
        await withRegistryLogin(engine, { server: testRegistry, username: "berth", password }, (loggedIn) => loggedIn(["pull", "--quiet", image]));
    }
    for (let i = 0; i < 2; i++) {
        const id = (await docker(engine, ["run", "-d", "--entrypoint", "sleep", image, "60"])).trim();
        await docker(engine, ["exec", id, "true"]);
        await docker(engine, ["rm", "--force", id]);
    }
    return Date.now() - started;
}

export async function hostsBench(): Promise<string> {
    const engines = await testHosts(3);
    const RELEASES = 3;

    // 1. The same release, local engine vs one remote host over SSH (same registry, 2 replicas each).
    const local = await withStack([], 2, async (s) => {
        const times = [];
        for (let i = 0; i < RELEASES; i++) times.push(await s.release());
        const image: string = (await s.stack.stack.outputs()).imageRef.value;
        return { ms: median(times), image, floorMs: await engineFloorMs("", image, false) };
    });
    const localMs = local.ms;
    const remote = await withStack([engines[0]], 2, async (s) => {
        const times = [];
        for (let i = 0; i < RELEASES; i++) times.push(await s.release());
        // The same engine work on the host, for a release it has not seen (the local stack's last one).
        const floorMs = await engineFloorMs(engines[0], local.image, true);
        // A cold release: no SSH connection open when it starts.
        execFileSync("ssh", ["-o", `ControlPath=${os.homedir()}/.ssh/berth-mux-%r@%h:%p`, "-O", "exit", engines[0].replace("ssh://", "")], { stdio: "ignore" });
        const before = sshLogins("h1");
        await s.release();
        return { ms: median(times), handshakes: sshLogins("h1") - before, floorMs };
    });

    // 2. Releases to 2 and 3 hosts (2 replicas per host), one host at a time and all at once, without load; then
    // the 3-host one host at a time under load spread over every host's proxy.
    const spread: { hosts: number; oneByOneMs: number; allMs: number; load?: LoadResult; underLoadMs?: number }[] = [{ hosts: 1, oneByOneMs: remote.ms, allMs: remote.ms }];
    for (const count of [2, 3]) {
        spread.push(await withStack(engines.slice(0, count), 2 * count, async (s) => {
            const oneByOneMs = await s.release();
            await s.stack.stack.setConfig("berth:rolloutBatchSize", { value: String(count) });
            const allMs = await s.release();
            if (count < 3) return { hosts: count, oneByOneMs, allMs };
            await s.stack.stack.setConfig("berth:rolloutBatchSize", { value: "1" });
            const release = s.release();
            const load = await spreadLoad(s.urls, 10_000, release);
            return { hosts: count, oneByOneMs, allMs, load, underLoadMs: await release };
        }));
    }
    const underLoad = spread.find((row) => row.load)!.load!;
    const rows = [
        ["code-only release, local engine (2 replicas)", `${seconds(localMs)} s`, ""],
        ["the same release to 1 remote host over SSH (2 replicas)", `${seconds(remote.ms)} s`, `${(remote.ms / localMs).toFixed(2)}× the local engine (target ≤ 1.3×)`],
        ["the engines' own work for one release (host: pull + 2 × start, probe, remove; local: the same without the pull)", `${seconds(remote.floorMs)} s / ${seconds(local.floorMs)} s`, `the floor: ${seconds(remote.floorMs - local.floorMs)} s more on the host`],
        ["the remote release less that floor", `${seconds(remote.ms - (remote.floorMs - local.floorMs))} s`, `${((remote.ms - (remote.floorMs - local.floorMs)) / localMs).toFixed(2)}× the local engine`],
        ["SSH handshakes to that host in one release (no connection open before)", String(remote.handshakes), "one multiplexed connection per host"],
        ...spread.map((row) => [`release to ${row.hosts} host${row.hosts > 1 ? "s" : ""} (${2 * row.hosts} replicas): one host at a time / all at once`, `${seconds(row.oneByOneMs)} s / ${seconds(row.allMs)} s`, ""]),
        ["3-host rollout, one host at a time, under load on all 3 proxies", `${seconds(spread.find((row) => row.load)!.underLoadMs!)} s`, ""],
        ["failed requests during that rollout", `${underLoad.failed} of ${underLoad.total}`, JSON.stringify(underLoad.failures)],
    ];
    return ["| on test hosts over SSH | berth | |", "|---|---|---|", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}
