/**
 * `npm run exec -- --stack S [--tty] -- <command…>`: runs a one-off container of the image the stack's replicas run,
 * with their environment (secrets included, never on a command line) on their network, on the stack's first host; its
 * output streams through and this exits with the command's code. The command runs as given, argument by argument (no
 * shell, not through the image's entrypoint: `sh -c '…'` for a shell line); `--tty` gives it a terminal, for a console.
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import { cliEnvironment } from "../components/docker/cli";
import { withEnvironment } from "../components/docker/resource";
import { dockerOn, parseOptions, replicas, runMain, UsageError } from "./replicas";
import { LABEL } from "../components/naming";

const USAGE = "usage: npm run exec -- --stack <stack> [--tty] -- <command…>";

/** `NAME=value` entries (as `docker inspect` lists them) to a map; the image's own variables are left to the image. */
export function environmentOf(entries: string[], imageEntries: string[]): Record<string, string> {
    const own = new Set(imageEntries);
    return Object.fromEntries(entries.filter((e) => !own.has(e)).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

export interface OneOff {
    stack: string;
    name: string;
    image: string;
    /** The replicas' network, if any. */
    network?: string;
    /** `--env-file`-style flags that carry the environment (withEnvironment). */
    envFlags: string[];
    tty: boolean;
    command: string[];
}

/** `docker run` of a one-off: removed when done, stdin kept open, labelled as the stack's, its argv untouched. */
export function oneOffArgs(run: OneOff): string[] {
    return ["run", "--rm", "--interactive", ...(run.tty ? ["--tty"] : []), "--name", run.name,
        "--label", `${LABEL.stack}=${run.stack}`, "--label", `${LABEL.role}=one-off`, ...(run.network ? ["--network", run.network] : []), ...run.envFlags,
        "--entrypoint", "", run.image, ...run.command];
}

async function main(): Promise<number> {
    const { options, rest } = parseOptions(process.argv.slice(2), { values: ["stack"], flags: ["tty"] });
    const stack = options.stack;
    if (stack === undefined || rest.length === 0) throw new UsageError(USAGE);
    const [first] = replicas(stack);
    if (!first) throw new UsageError(`stack ${stack} runs no replica to take the image and environment from`);
    const replica = JSON.parse(dockerOn(first.host, "inspect", first.name))[0];
    const image = JSON.parse(dockerOn(first.host, "image", "inspect", replica.Image))[0];
    const env = environmentOf(replica.Config.Env ?? [], image.Config?.Env ?? []);
    const network = Object.keys(replica.NetworkSettings?.Networks ?? {})[0];
    const name = `berth-${stack}-exec-${crypto.randomBytes(3).toString("hex")}`;
    return withEnvironment(env, ({ flags, cliEnv }) => new Promise<number>((resolve) => {
        const args = oneOffArgs({ stack, name, image: replica.Config.Image, network, envFlags: flags, tty: options.tty === true, command: rest });
        const child = spawn("docker", [...(first.host ? ["--host", first.host] : []), ...args], { env: cliEnvironment(first.host, cliEnv), stdio: "inherit" });
        child.on("close", (code) => resolve(code ?? 1));
    }));
}

// Run as `node tools/register-typescript.js scripts/<this>.ts …` (npm run …); imported by tests for its pure parts.
if (process.argv[1] === __filename) runMain(main);
