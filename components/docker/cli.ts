import { execFile } from "child_process";

/** Where a Docker engine answers: a DOCKER_HOST value (`unix://…`, `ssh://user@host`, `tcp://…`); empty means the local default. */
export type DockerHost = string;

export interface DockerRunOptions {
    /** Written to the command's standard input (e.g. a password for `--password-stdin`). */
    stdin?: string;
    /** Extra environment, e.g. a throw-away DOCKER_CONFIG holding registry credentials. */
    env?: Record<string, string>;
    /** Kill the CLI after this many milliseconds (a hung probe must not hang a deploy). */
    timeoutMs?: number;
}

/** A docker CLI failure that keeps what the engine said, so errors name the real cause. */
export class DockerError extends Error {
    constructor(readonly args: string[], readonly stderr: string, readonly exitCode: number | string | null) {
        super(`docker ${args.join(" ")} failed (exit ${exitCode}): ${stderr.trim() || "no output"}`);
    }
}

/**
 * Runs the docker CLI against `host` and returns its standard output. The CLI, not an SDK, talks to the engine
 * because it already speaks every transport users configure (unix socket, TCP with TLS, SSH).
 */
export function docker(host: DockerHost, args: string[], options: DockerRunOptions = {}): Promise<string> {
    const fullArgs = host ? ["--host", host, ...args] : args;
    return new Promise((resolve, reject) => {
        const child = execFile(
            "docker",
            fullArgs,
            { env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 0 },
            (error, stdout, stderr) => {
                if (error) {
                    reject(new DockerError(args, String(stderr || error.message), error.code ?? null));
                } else {
                    resolve(String(stdout));
                }
            },
        );
        child.stdin?.end(options.stdin ?? "");
    });
}

/** `docker inspect` of one object, or undefined when it does not exist. */
export async function inspect<T = any>(host: DockerHost, kind: "container" | "image" | "network" | "volume", id: string): Promise<T | undefined> {
    try {
        const out = await docker(host, [kind, "inspect", id]);
        return (JSON.parse(out) as T[])[0];
    } catch (err) {
        if (err instanceof DockerError && /no such|not found/i.test(err.stderr)) {
            return undefined;
        }
        throw err;
    }
}

/** `<flag> k=v` for each entry, in a stable order, so identical maps always produce identical commands. */
export function mapFlags(flag: string, values: Record<string, string> = {}): string[] {
    return Object.keys(values)
        .sort()
        .flatMap((key) => [flag, `${key}=${values[key]}`]);
}

export function labelFlags(labels: Record<string, string> = {}): string[] {
    return mapFlags("--label", labels);
}
