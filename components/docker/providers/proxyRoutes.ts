import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { DockerError, DockerHost, execOutput } from "../cli";
import { changedKeys } from "../resource";
import { BERTH_DIR, oldWorkersGone, ProxyReadBack, proxyReadBack, replaceAndReload } from "./nginx";

export interface ProxyRoutesInputs {
    host: DockerHost;
    /** The running proxy container (berth's nginx image). */
    proxy: string;
    /** `name:port` of each replica, reachable on the stack network. */
    upstreams: string[];
    /**
     * How long a change waits for nginx's workers from before it to finish the connections they hold (the replicas'
     * stop grace): the replicas they send those to are removed only after. Not part of what the proxy serves.
     */
    drainSeconds: number;
}

/** nginx's upstream block body: every replica, skipped for a moment after one failure (it may be draining). */
export function upstreamConfig(upstreams: string[]): string {
    if (upstreams.length === 0) return "server 127.0.0.1:1 down;\n";
    return [...upstreams].sort().map((u) => `server ${u} max_fails=1 fail_timeout=2s;`).join("\n") + "\n";
}

/** Names a set of upstreams; nginx answers it at /__berth/routes, so berth can see when a reload took effect. */
export function routesId(upstreams: string[]): string {
    return crypto.createHash("sha256").update(upstreamConfig(upstreams)).digest("hex").slice(0, 16);
}

/** The upstreams an upstream.conf written by upstreamConfig names (none for the fast-502 placeholder). */
export function parseUpstreamConfig(text: string): string[] {
    return [...text.matchAll(/^server (\S+) max_fails=/gm)].map((m) => m[1]).sort();
}

/** The shell script run in the proxy: write, check (rolling back a config nginx rejects), reload, confirm, drain. */
export function applyScript(id: string, drainSeconds: number): string {
    return replaceAndReload([`${BERTH_DIR}/upstream.conf`, `${BERTH_DIR}/routes.conf`], [
        `printf '%s' "$BERTH_UPSTREAMS" > ${BERTH_DIR}/upstream.conf`,
        `printf 'location = /__berth/routes {\\n    return 200 "${id}\\n";\\n}\\n' > ${BERTH_DIR}/routes.conf`,
    ], "/__berth/routes", id, [oldWorkersGone(drainSeconds)]);
}

/**
 * Writes the upstreams into the running proxy and reloads it gracefully: new workers route to the new replicas
 * while old workers finish their requests. Returns once new connections are served with the new routes and the old
 * workers are gone (or drainSeconds have passed), so the replicas they still use can be removed.
 */
async function apply(inputs: ProxyRoutesInputs): Promise<void> {
    const script = applyScript(routesId(inputs.upstreams), inputs.drainSeconds);
    // The upstreams (addresses, no secrets) travel in the exec's environment: the Engine API takes no input otherwise.
    await execOutput(inputs.host, inputs.proxy, ["bash", "-c", `set -e\n${script}`], { BERTH_UPSTREAMS: upstreamConfig(inputs.upstreams) });
}

/**
 * The upstreams the running proxy really serves: its upstream.conf, if nginx has loaded it (the routes id it
 * answers matches the file's); none when it serves something else. A proxy that is not running is the proxy
 * container's drift, repaired there: its routes are reported as recorded.
 */
async function servedUpstreams(props: ProxyRoutesInputs): Promise<string[]> {
    let served: ProxyReadBack;
    try {
        served = await proxyReadBack(props.host, props.proxy, "routes");
    } catch (err) {
        if (err instanceof DockerError && /no such container|is not running|is restarting/i.test(err.stderr)) return [...props.upstreams].sort();
        throw err;
    }
    if (served.routes === undefined) return [...props.upstreams].sort(); // the answer was cut short: nothing to go by
    const upstreams = parseUpstreamConfig(served.upstreamFile);
    return served.routes.includes(routesId(upstreams)) ? upstreams : [];
}

/** Replica order carries no meaning (names are random): compare and record the set, sorted. */
function normalized(inputs: ProxyRoutesInputs): ProxyRoutesInputs {
    return { ...inputs, upstreams: [...inputs.upstreams].sort() };
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: ProxyRoutesInputs) {
        await apply(inputs);
        return { id: `${inputs.proxy}-routes`, outs: normalized(inputs) };
    },
    async diff(_id: string, olds: ProxyRoutesInputs, news: ProxyRoutesInputs) {
        const changed = changedKeys(normalized(olds), normalized(news), ["host", "proxy", "upstreams"]);
        if (changed.length > 0) return { changes: true };
        // Same routes declared: is the proxy still serving them? (Rewritten or emptied by hand, `up` puts them back.)
        return { changes: changedKeys({ upstreams: await servedUpstreams(olds) }, normalized(news), ["upstreams"]).length > 0 };
    },
    async update(_id: string, _olds: ProxyRoutesInputs, news: ProxyRoutesInputs) {
        await apply(news);
        return { outs: normalized(news) };
    },
    async read(id: string, props: ProxyRoutesInputs) {
        return { id, props: { ...props, upstreams: await servedUpstreams(props) } };
    },
    // The routes live in the proxy container and go with it.
    async delete() {},
};
