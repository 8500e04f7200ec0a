import { DockerHost, execOutput } from "../cli";

/** What berth's providers run inside its proxy container (images/proxy): config written, tested, reloaded, confirmed. */

/** berth's config files in the proxy. */
export const BERTH_DIR = "/etc/nginx/berth";

/** Asks the proxy's nginx, on a fresh connection, what it answers at `path` (a marker berth wrote); BERTH_PROBE: see webProxy. */
export function fetchScript(path: string): string {
    return `exec 3<>/dev/tcp/\${BERTH_PROBE:-127.0.0.1/80} && printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`;
}

/**
 * A script that replaces `files` (each written by `write`, which runs with the previous versions kept as
 * `<file>.previous`), has nginx test the result (the previous files put back if it is rejected), reloads
 * gracefully, waits until fresh connections keep being answered `id` at `path`, then runs `then`. One writer at
 * a time per proxy: a test must never read a file another provider has half-written.
 */
export function replaceAndReload(files: string[], write: string[], path: string, id: string, then: string[] = []): string {
    return [
        `exec 9>${BERTH_DIR}/.lock && flock 9`,
        ...files.map((file) => `cp ${file} ${file}.previous`),
        ...write,
        `if ! nginx -t -q; then ${files.map((file) => `mv ${file}.previous ${file}`).join("; ")}; exit 1; fi`,
        // A proxy that has just started listens (and counts as healthy) a moment before its master writes its pid file.
        "for i in $(seq 1 100); do [ -s /run/nginx.pid ] && break; sleep 0.05; done",
        "nginx -s reload",
        // Done when fresh connections keep landing on new workers (old ones stop accepting right after the signal).
        `seen=0; for i in $(seq 1 200); do case "$(${fetchScript(path)})" in *${id}*) seen=$((seen + 1)); [ $seen -ge 3 ] && break;; *) seen=0;; esac; sleep 0.05; done`,
        `[ $seen -ge 3 ] || { echo "nginx did not start serving ${path} ${id} within 10s" >&2; exit 1; }`,
        ...then,
    ].join("\n");
}

/**
 * Waits, up to `seconds`, until no nginx worker from before a reload is left. Such a worker keeps the connections
 * it accepted before the reload (a client that connected, then sends its request later) and still sends their
 * requests to the replicas it knew: those must outlive it. Without such connections it is gone at once.
 */
export function oldWorkersGone(seconds: number): string {
    // Anchored: this script's own command line (and grep's) holds the words too.
    return `for i in $(seq 1 ${Math.round(seconds * 20)}); do grep -qs '^nginx: worker process is shutting down' /proc/[0-9]*/cmdline || break; sleep 0.05; done`;
}

/** What a running proxy serves, as read back in one exec: its upstream.conf and what nginx answers for routes and site. */
export interface ProxyReadBack {
    upstreamFile: string;
    /** The answer at /__berth/routes; undefined when the output was cut short before it. */
    routes?: string;
    /** The answer at /__berth/site; undefined when the output was cut short before it. */
    site?: string;
}

const READ_BACK = `cat ${BERTH_DIR}/upstream.conf; echo '#routes'; (${fetchScript("/__berth/routes")}) || true; echo '#site'; (${fetchScript("/__berth/site")}) || true`;

export function parseReadBack(output: string): ProxyReadBack {
    const [upstreamFile, afterFile] = output.split("#routes\n");
    const [routes, site] = afterFile === undefined ? [] : afterFile.split("#site\n");
    return { upstreamFile, routes, site };
}

/** Read-backs started and not yet taken by every part they were read for. */
const pendingReadBacks = new Map<string, { reading: Promise<ProxyReadBack>; unclaimedBy: Set<ProxyPart> }>();

export type ProxyPart = "routes" | "site";

const readBackKey = (host: DockerHost, proxy: string) => `${host}\0${proxy}`;

function startReadBack(host: DockerHost, proxy: string, unclaimedBy: ProxyPart[]): Promise<ProxyReadBack> {
    const reading = execOutput(host, proxy, ["bash", "-c", READ_BACK]).then(parseReadBack);
    reading.catch(() => undefined); // a part may never ask; each caller handles its own failure
    pendingReadBacks.set(readBackKey(host, proxy), { reading, unclaimedBy: new Set(unclaimedBy) });
    return reading;
}

/**
 * What the running proxy serves, for the drift check of its routes or its site. Both are checked in every run, one
 * after the other (the engine diffs one resource at a time): one exec reads what both need, started by the proxy
 * container's own diff (readProxyAhead) or else by the first part to ask; the other part takes its answer. A part
 * asking again reads afresh. Fails as the exec does (a stopped proxy).
 */
export function proxyReadBack(host: DockerHost, proxy: string, part: ProxyPart): Promise<ProxyReadBack> {
    const key = readBackKey(host, proxy);
    const pending = pendingReadBacks.get(key);
    if (pending?.unclaimedBy.has(part)) {
        pending.unclaimedBy.delete(part);
        if (pending.unclaimedBy.size === 0) pendingReadBacks.delete(key);
        return pending.reading;
    }
    return startReadBack(host, proxy, part === "routes" ? ["site"] : ["routes"]);
}

/**
 * Starts the read-back for both parts ahead of their diffs, once the proxy container's diff found it running and
 * unchanged: the exec (~80 ms, most of it the engine starting a process in the container) then runs while the
 * engine diffs the resources declared between the proxy and its site, instead of after them.
 */
export function readProxyAhead(host: DockerHost, proxy: string): void {
    startReadBack(host, proxy, ["routes", "site"]);
}
