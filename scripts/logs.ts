/**
 * `npm run logs -- --stack S [--role web|<role>] [--follow] [--since 10m]`: every replica's logs, on every host of the
 * stack, merged in time order, each line prefixed with its replica's name. Works on remote engines (berth:hosts).
 */
import { spawn, spawnSync } from "child_process";
import { cliEnvironment } from "../components/docker/cli";
import { parseOptions, replicas, runMain, UsageError } from "./replicas";

const USAGE = "usage: npm run logs -- --stack <stack> [--role web|<a role of berth:roles>] [--follow] [--since 10m]";

/** Docker's `--timestamps` lines of several replicas, merged by time (stable within a replica), prefixed with its name. */
export function mergeLogLines(streams: { replica: string; text: string }[]): string[] {
    const lines = streams.flatMap(({ replica, text }, s) => text.split("\n").filter(Boolean).map((line, i) => {
        const [time, ...rest] = line.split(" ");
        return { at: Date.parse(time), s, i, line: `${replica} | ${time} ${rest.join(" ")}` };
    }));
    return lines.sort((a, b) => a.at - b.at || a.s - b.s || a.i - b.i).map((l) => l.line);
}

async function main(): Promise<void> {
    const { options } = parseOptions(process.argv.slice(2), { values: ["stack", "since", "role"], flags: ["follow"] });
    const stack = options.stack;
    if (stack === undefined) throw new UsageError(USAGE);
    const since = options.since !== undefined ? ["--since", options.since] : [];
    const found = replicas(stack, options.role);
    if (found.length === 0) throw new UsageError(`stack ${stack} runs no replica`);
    if (!options.follow) {
        // `docker logs` gives the container's stderr on its own stderr: both are read; the timestamps order them.
        const streams = found.map(({ host, name }) => {
            const read = spawnSync("docker", [...(host ? ["--host", host] : []), "logs", "--timestamps", ...since, name], { encoding: "utf8", env: cliEnvironment(host), maxBuffer: 256 * 1024 * 1024 });
            if (read.status !== 0) throw new Error(`docker logs ${name} failed on ${host || "the local engine"}: ${read.stderr}`);
            return { replica: name, text: `${read.stdout}\n${read.stderr}` };
        });
        for (const line of mergeLogLines(streams)) console.log(line);
        return;
    }
    // Following: each replica's new lines as they come (time order across replicas is arrival order).
    await Promise.all(found.map(({ host, name }) => new Promise<void>((resolve) => {
        const child = spawn("docker", [...(host ? ["--host", host] : []), "logs", "--follow", "--timestamps", ...since, name], { env: cliEnvironment(host) });
        let partial = "";
        const print = (chunk: Buffer) => {
            const text = partial + chunk.toString();
            const lines = text.split("\n");
            partial = lines.pop() ?? "";
            for (const line of lines.filter(Boolean)) console.log(`${name} | ${line}`);
        };
        child.stdout.on("data", print);
        child.stderr.on("data", print);
        child.on("close", () => resolve());
    })));
}

// Run as `node tools/register-typescript.js scripts/<this>.ts …` (npm run …); imported by tests for its pure parts.
if (process.argv[1] === __filename) runMain(main);
