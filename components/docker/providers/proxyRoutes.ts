import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost } from "../cli";
import { changedKeys } from "../resource";

export interface ProxyRoutesInputs {
    host: DockerHost;
    /** The running proxy container (berth's nginx image). */
    proxy: string;
    /** `name:port` of each replica, reachable on the stack network. */
    upstreams: string[];
}

const UPSTREAM_FILE = "/etc/nginx/berth/upstream.conf";

/** nginx's upstream block body: every replica, skipped for a moment after one failure (it may be draining). */
export function upstreamConfig(upstreams: string[]): string {
    if (upstreams.length === 0) return "server 127.0.0.1:1 down;\n";
    return [...upstreams].sort().map((u) => `server ${u} max_fails=1 fail_timeout=2s;`).join("\n") + "\n";
}

/**
 * Writes the upstreams into the running proxy, checks the whole config and reloads gracefully: new workers route to
 * the new replicas while old workers finish their requests. A config nginx rejects is rolled back untouched.
 */
async function apply(inputs: ProxyRoutesInputs): Promise<void> {
    const script = [
        `cp ${UPSTREAM_FILE} ${UPSTREAM_FILE}.previous`,
        `cat > ${UPSTREAM_FILE}`,
        `if ! nginx -t -q; then mv ${UPSTREAM_FILE}.previous ${UPSTREAM_FILE}; exit 1; fi`,
        "nginx -s reload",
    ].join(" && ");
    await docker(inputs.host, ["exec", "-i", inputs.proxy, "sh", "-c", script], { stdin: upstreamConfig(inputs.upstreams) });
    // The reload is a signal; give the master a moment to start the new workers before old replicas go.
    await new Promise((resolve) => setTimeout(resolve, 1000));
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
        return { changes: changed.length > 0 };
    },
    async update(_id: string, _olds: ProxyRoutesInputs, news: ProxyRoutesInputs) {
        await apply(news);
        return { outs: normalized(news) };
    },
    async read(id: string, props: ProxyRoutesInputs) {
        return { id, props };
    },
    // The routes live in the proxy container and go with it.
    async delete() {},
};
