import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { docker, DockerError, DockerHost, labelFlags, mapFlags } from "../cli";
import { changedKeys, envHash, withEnvironment } from "../resource";
import { effectiveLogOptions } from "../commands/container";
import { engineLogDriver } from "../engineFacts";

export interface ReleaseGateInputs {
    host: DockerHost;
    /** The image about to be released. */
    image: string;
    /** Run by the image's shell; exit 0 lets the release through. */
    command: string;
    network: string;
    /** May hold secrets: passed through a private env-file, only its hash is recorded. */
    env: Record<string, string>;
    labels: Record<string, string>;
    namePrefix: string;
    /** Rotation of its log file while it runs, where the engine's log driver keeps files. */
    logRotation?: { maxSize: string; maxFiles: number };
    /**
     * `release gate` (the image's tests: run again when the image or the environment changes) or `release command`
     * (a migration: run once per new image).
     */
    purpose?: "release gate" | "release command";
    /** Stopped and failed past this; 0: no limit. */
    timeoutSeconds?: number;
}

const rerunKeys = { "release gate": ["host", "image", "command", "network", "envHash"], "release command": ["image", "command"] } as const;

/** Runs a command of the new image in a throw-away container on the stack network; a failure stops the release. */
async function runOnce(inputs: ReleaseGateInputs): Promise<{ passedImage: string; envHash: string; output: string }> {
    const purpose = inputs.purpose ?? "release gate";
    const name = `${inputs.namePrefix}-${crypto.randomBytes(3).toString("hex")}`;
    const logOptions = effectiveLogOptions({ logDriver: "", logOptions: {}, logRotation: inputs.logRotation }, await engineLogDriver(inputs.host));
    let output: string;
    try {
        output = await withEnvironment(inputs.env, ({ flags, cliEnv }) => docker(inputs.host, [
            "run", "--rm", "--name", name, ...labelFlags(inputs.labels), "--network", inputs.network, ...flags,
            ...mapFlags("--log-opt", logOptions),
            "--entrypoint", "sh", inputs.image, "-c", inputs.command,
        ], { env: cliEnv, timeoutMs: (inputs.timeoutSeconds ?? 0) * 1000 }));
    } catch (err) {
        // Killed by the timeout, the CLI leaves the container running: it goes too.
        await docker(inputs.host, ["rm", "--force", name]).catch(() => undefined);
        const timedOut = err instanceof DockerError && err.exitCode === null && (inputs.timeoutSeconds ?? 0) > 0;
        // What the command printed (a test runner's report goes to stdout), then what docker said.
        const said = err instanceof DockerError ? `${err.stdout.trim()}\n${err.stderr.trim()}`.trim() : String(err);
        throw new Error(`${purpose}: \`${inputs.command}\` ${timedOut ? `did not finish within ${inputs.timeoutSeconds}s` : "failed"} in ${inputs.image} on ${inputs.host || "the local engine"}; nothing was replaced.\n${said.split("\n").slice(-60).join("\n")}`);
    }
    return { passedImage: inputs.image, envHash: envHash(inputs.env), output: output.split("\n").slice(-40).join("\n").trim() };
}

function recordedState(inputs: ReleaseGateInputs, result: { passedImage: string; envHash: string; output: string }) {
    const { env, ...rest } = inputs;
    return { ...rest, ...result };
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: ReleaseGateInputs) {
        return { id: `${inputs.namePrefix}-gate`, outs: recordedState(inputs, await runOnce(inputs)) };
    },
    async diff(_id: string, olds: ReleaseGateInputs & { envHash: string }, news: ReleaseGateInputs) {
        const changed = changedKeys<any>(olds, { ...news, envHash: envHash(news.env) }, rerunKeys[news.purpose ?? "release gate"]);
        return { changes: changed.length > 0 };
    },
    async update(_id: string, _olds: ReleaseGateInputs, news: ReleaseGateInputs) {
        return { outs: recordedState(news, await runOnce(news)) };
    },
    async read(id: string, props: ReleaseGateInputs) {
        return { id, props };
    },
    async delete() {},
};
