/**
 * A steady HTTP(S) load on loopback that counts every failure: non-2xx answers and connection errors. Used by the
 * zero-downtime test and by the benchmark, against berth's proxy and against the hand-written script alike.
 */
import * as http from "http";
import * as https from "https";
import * as net from "net";

export interface LoadResult {
    total: number;
    failed: number;
    /** e.g. { "503": 2, "ECONNREFUSED": 5 } */
    failures: Record<string, number>;
    /** Version answered by each successful request, in completion order, with its completion time. */
    answers: { at: number; version: string }[];
    /** Requests sent again after the server closed their kept connection (LoadOptions.retryClosedKeepAlive). */
    retried?: number;
    /** When each failure happened (ms since the epoch). */
    failedAt?: number[];
}

export interface LoadRun {
    /** Stops sending and resolves once every in-flight request has finished. */
    stop(): Promise<LoadResult>;
}

/** Sends until stop() or, whatever happens to the caller, for at most `maxSeconds`: a load never outlives its test. */
export interface LoadOptions {
    /** CA certificates an https URL's certificate is checked against. */
    ca?: string[];
    /** Connect the URL's name to this address (a test host answering for it), as DNS would have it. */
    address?: string;
    /**
     * Send a request again when the server closed the kept connection it was sent on before answering
     * (ECONNRESET on a socket that had answered before): HTTP allows it for idempotent requests, and browsers (and
     * Node's documented pattern) do it. Counted in `retried`, not as a failure.
     */
    retryClosedKeepAlive?: boolean;
}

export function startLoad(url: string, concurrency = 8, maxSeconds = 600, options: LoadOptions = {}): LoadRun {
    const deadline = Date.now() + maxSeconds * 1000;
    const client = url.startsWith("https:") ? https : http;
    const { address } = options;
    const lookup = address ? (_name: string, opts: { all?: boolean }, done: (...args: unknown[]) => void) => (opts.all ? done(null, [{ address, family: 4 }]) : done(null, address, 4)) : undefined;
    const agent = url.startsWith("https:") ? new https.Agent({ keepAlive: true, maxSockets: concurrency, ca: options.ca, lookup } as https.AgentOptions) : new http.Agent({ keepAlive: true, maxSockets: concurrency, lookup } as http.AgentOptions);
    const result: LoadResult = { total: 0, failed: 0, failures: {}, answers: [], retried: 0, failedAt: [] };
    // Sockets that carried an answer before. Node's `request.reusedSocket` misses a kept socket handed to a request
    // that waited in the agent's queue (every request here: each loop asks again before its socket is freed).
    const answered = new WeakSet<object>();
    const fail = (why: string) => {
        result.failed++;
        result.failures[why] = (result.failures[why] ?? 0) + 1;
        result.failedAt?.push(Date.now());
    };
    // A retry may get another kept connection the server has closed too: each is tried, at most once per pooled socket.
    const once = (retries = options.retryClosedKeepAlive ? concurrency + 1 : 0): Promise<void> => new Promise<void>((resolve) => {
        let socket: object | undefined;
        const request = client.get(url, { agent, timeout: 10_000 }, (response) => {
            let body = "";
            response.on("data", (chunk) => (body += chunk));
            response.on("end", () => {
                if (socket) answered.add(socket);
                result.total++;
                if (response.statusCode !== 200) {
                    fail(String(response.statusCode));
                } else {
                    result.answers.push({ at: Date.now(), version: JSON.parse(body).version });
                }
                resolve();
            });
            response.on("error", (err: NodeJS.ErrnoException) => {
                result.total++;
                fail(err.code ?? err.message);
                resolve();
            });
        });
        request.on("socket", (s) => (socket = s));
        request.on("timeout", () => request.destroy(new Error("timeout")));
        request.on("error", (err: NodeJS.ErrnoException) => {
            const kept = request.reusedSocket || (socket !== undefined && answered.has(socket));
            if (retries > 0 && kept && err.code === "ECONNRESET") {
                result.retried!++;
                once(retries - 1).then(resolve);
                return;
            }
            result.total++;
            // Whether it was sent on a kept connection tells a closed keep-alive from a connection refused or reset when made.
            fail(`${err.code ?? err.message}${options.retryClosedKeepAlive ? (kept ? " on a kept connection" : " on a new connection") : ""}`);
            resolve();
        });
    });
    const loops = repeat(once, concurrency, deadline);
    return {
        async stop() {
            await loops.stop();
            agent.destroy();
            return result;
        },
    };
}

/**
 * Fresh TCP connections in a loop, each sending `request` and counting as answered once any reply arrives: what a
 * client opening a new connection to a service sees (a connection pool's reconnect, a one-off tool). Bounded like
 * startLoad.
 */
export function startConnectionLoad(host: string, port: number, request: string, concurrency = 4, maxSeconds = 600): { stop(): Promise<Omit<LoadResult, "answers">> } {
    const deadline = Date.now() + maxSeconds * 1000;
    const result = { total: 0, failed: 0, failures: {} as Record<string, number> };
    const once = () => new Promise<void>((resolve) => {
        const socket = net.connect(port, host);
        let settled = false;
        const settle = (failure?: string) => {
            if (settled) return;
            settled = true;
            socket.destroy();
            result.total++;
            if (failure) {
                result.failed++;
                result.failures[failure] = (result.failures[failure] ?? 0) + 1;
            }
            resolve();
        };
        socket.setTimeout(5_000, () => settle("timeout"));
        socket.on("connect", () => socket.write(request));
        socket.on("data", () => settle());
        socket.on("error", (err: NodeJS.ErrnoException) => settle(err.code ?? err.message));
        socket.on("close", () => settle("closed before answering"));
    });
    const loops = repeat(once, concurrency, deadline);
    return {
        async stop() {
            await loops.stop();
            return result;
        },
    };
}

/** `concurrency` loops each running `once` after the other until stop() or the deadline; stop() waits for them. */
function repeat(once: () => Promise<void>, concurrency: number, deadline: number): { stop(): Promise<void> } {
    let running = true;
    const loops = Array.from({ length: concurrency }, async () => {
        while (running && Date.now() < deadline) await once();
    });
    return {
        async stop() {
            running = false;
            await Promise.all(loops);
        },
    };
}
