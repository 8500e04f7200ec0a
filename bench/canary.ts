/**
 * The watched release's row of `npm run bench` (`BENCH_ONLY=canary`): a release that answers 500 on /checkout,
 * deployed under the same load on /checkout to two identical stacks on this machine's engine — one plain, one with
 * berth:canary — and the requests clients saw fail over the same window from the start of `up`. Without a canary the
 * bad release serves everything until someone rolls it back (here: the window's end); with one, only its share
 * during its window, and `up` fails.
 */
import * as fs from "fs";
import { startLoad } from "../test/load";
import { appCopy, ThrowawayStack, throwawayStack, writeCheckoutRelease, writeLiveProbe } from "../test/integration/harness";

/** From the start of `up`: long enough for a release without canary to be in place and serve a while. */
const WINDOW_SECONDS = Number(process.env.BENCH_CANARY_WINDOW ?? 60);
const CANARY = { percent: 10, seconds: 20, maxErrorRate: 0.02, maxP95Ms: 800 };

interface Outcome {
    total: number;
    failed: number;
    upFailed: boolean;
}

/** A stack of the sample app, released good, then the failing release under load for the window. */
async function badReleaseUnderLoad(canary: boolean): Promise<Outcome> {
    const context = appCopy();
    let env: ThrowawayStack | undefined;
    try {
        const healthcheck = writeLiveProbe(context);
        writeCheckoutRelease(context, "good");
        env = await throwawayStack({ appContext: context, replicas: "2", healthcheck, ...(canary ? { canary: CANARY } : {}) });
        const url = (await env.stack.up({ color: "never" })).outputs.url.value;
        writeCheckoutRelease(context, "failing");
        const load = startLoad(`${url}/checkout`, 8, WINDOW_SECONDS + 60);
        const started = Date.now();
        const upFailed = await env.stack.up({ color: "never" }).then(() => false, () => true);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + WINDOW_SECONDS * 1000 - Date.now())));
        const result = await load.stop();
        return { total: result.total, failed: result.failed, upFailed };
    } finally {
        await env?.remove();
        fs.rmSync(context, { recursive: true, force: true });
    }
}

export async function canaryBench(): Promise<string> {
    const without = await badReleaseUnderLoad(false);
    const withCanary = await badReleaseUnderLoad(true);
    const row = (name: string, o: Outcome) =>
        `| ${name} | ${o.total} | ${o.failed} (${((o.failed / o.total) * 100).toFixed(1)}%) | ${o.upFailed ? "failed: rolled back, nothing replaced" : "succeeded: the bad release serves"} |`;
    return [
        `| a release failing on /checkout, 8 clients on /checkout, ${WINDOW_SECONDS} s from the start of \`up\` | requests | failed | \`up\` |`,
        "|---|---|---|---|",
        row("no canary", without),
        row(`berth:canary ${JSON.stringify(CANARY).replace(/"/g, "")}`, withCanary),
        `| with canary vs without | | ${(withCanary.failed / Math.max(1, without.failed)).toFixed(3)}× | |`,
    ].join("\n");
}
