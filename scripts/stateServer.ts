/**
 * `npm run state-server -- up [--host ssh://…] [--image postgres:15] [--port 5432]`: the team's shared Pulumi state,
 * in Postgres (the Pulumi CLI's own postgres:// backend: a table of state, history and locks). Starts it on the engine
 * (a host of berth:hosts, or this machine's) unless it runs there already, and prints its URL as its last line, for
 * PULUMI_BACKEND_URL. Its data is in a volume that outlives the container; its password is generated once and kept
 * by the container (read back on later runs).
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import { setTimeout as sleep } from "timers/promises";
import { cliEnvironment, labelFlags } from "../components/docker/cli";
import { parseImageRef } from "../components/imageReference";
import { LABEL } from "../components/naming";
import { dockerOn, parseOptions, runMain, UsageError } from "./replicas";

const USAGE = "usage: npm run state-server -- up [--host ssh://user@host] [--image postgres:15] [--port 5432]";
export const STATE_SERVER = { container: "berth-state", volume: "berth-state-data", user: "berth", database: "berth_state", role: "state-server" };

/** The address teammates reach an engine's published port on: the ssh:// host's name, or this machine's loopback. */
export function reachableAddress(host: string): string {
    if (!host) return "127.0.0.1";
    const match = /^ssh:\/\/(?:[^@]+@)?(\[[^\]]+\]|[^:/]+)/.exec(host);
    if (!match) throw new UsageError(`--host ${host}: use the engine address as in berth:hosts, ssh://user@host[:port] (or none for this machine)`);
    return match[1];
}

/** The backend URL of a state server (PULUMI_BACKEND_URL); the password is URL-encoded. */
export function stateUrl(address: string, port: number, password: string): string {
    return `postgres://${STATE_SERVER.user}:${encodeURIComponent(password)}@${address}:${port}/${STATE_SERVER.database}?sslmode=disable`;
}

/** `docker run` of the state server: its volume, its port on every address of the host, restarted always. */
export function runArgs(image: string, port: number): string[] {
    return ["run", "--detach", "--name", STATE_SERVER.container, "--restart", "always",
        ...labelFlags({ [LABEL.role]: STATE_SERVER.role }),
        "--mount", `type=volume,source=${STATE_SERVER.volume},target=/var/lib/postgresql/data`,
        "--publish", `${port}:5432`,
        // The password reaches the container through its environment, never a command line (the value comes from ours).
        "--env", "POSTGRES_PASSWORD", "--env", `POSTGRES_USER=${STATE_SERVER.user}`, "--env", `POSTGRES_DB=${STATE_SERVER.database}`,
        image];
}

async function up(host: string, image: string, port: number): Promise<string> {
    const existing = dockerOn(host, "ps", "--all", "--filter", `name=^${STATE_SERVER.container}$`, "--format", "{{.State}}");
    if (!existing) {
        const password = crypto.randomBytes(18).toString("base64url");
        // berth's ssh for an ssh:// engine, as every docker call; the password only in the environment.
        execFileSync("docker", [...(host ? ["--host", host] : []), ...runArgs(image, port)], { env: cliEnvironment(host, { POSTGRES_PASSWORD: password }), stdio: ["ignore", "ignore", "pipe"] });
        console.error(`berth: started ${STATE_SERVER.container} on ${host || "this machine"} (data in volume ${STATE_SERVER.volume})`);
    } else if (existing !== "running") {
        dockerOn(host, "start", STATE_SERVER.container);
    }
    const inspected = JSON.parse(dockerOn(host, "inspect", STATE_SERVER.container))[0];
    const password = (inspected.Config.Env as string[]).find((e) => e.startsWith("POSTGRES_PASSWORD="))!.slice("POSTGRES_PASSWORD=".length);
    const published = Number(inspected.HostConfig.PortBindings?.["5432/tcp"]?.[0]?.HostPort ?? port);
    for (const deadline = Date.now() + 120_000; ; await sleep(1000)) {
        const ready = dockerOn(host, "inspect", "--format", "{{.State.Health.Status}}", STATE_SERVER.container);
        if (ready === "healthy") break;
        if (Date.now() > deadline) throw new UsageError(`${STATE_SERVER.container} on ${host || "this machine"} is ${ready} after 120 s: docker logs ${STATE_SERVER.container}`);
    }
    return stateUrl(reachableAddress(host), published, password);
}

/** `up`'s options, each checked (every problem at once): the image and port reach `docker run`'s argv. */
export function serverOptions(options: { host?: string; image?: string; port?: string }): { host: string; image: string; port: number } {
    const host = options.host ?? "";
    const image = options.image ?? "postgres:15";
    const port = Number(options.port ?? 5432);
    const problems: string[] = [];
    try {
        reachableAddress(host);
    } catch (err) {
        problems.push((err as Error).message);
    }
    if (!parseImageRef(image)) problems.push(`--image ${image}: an image reference, such as postgres:15 or registry.example.com/team/postgres:15`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`--port ${options.port}: a TCP port, 1-65535`);
    if (problems.length > 0) throw new UsageError(problems.join("\n"));
    return { host, image, port };
}

async function main(): Promise<number> {
    const [command, ...argv] = process.argv.slice(2);
    if (command !== "up") throw new UsageError(USAGE);
    const { host, image, port } = serverOptions(parseOptions(argv, { values: ["host", "image", "port"] }).options);
    console.log(await up(host, image, port));
    return 0;
}

// Run as `node tools/register-typescript.js scripts/stateServer.ts …` (npm run state-server); imported by tests for its pure parts.
if (process.argv[1] === __filename) runMain(main);
