import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { docker, DockerError, DockerHost, labelFlags, mapFlags } from "../cli";
import { changedKeys, envHash, withEnvironment } from "../resource";
import { effectiveLogOptions, engineLogDriver } from "./container";

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
}

const rerunKeys = ["host", "image", "command", "network", "envHash"] as const;

/** Runs the image's own tests in a throw-away container on the stack network; a failure stops the release. */
async function runTests(inputs: ReleaseGateInputs): Promise<{ passedImage: string; envHash: string }> {
    const name = `${inputs.namePrefix}-${crypto.randomBytes(3).toString("hex")}`;
    const logOptions = effectiveLogOptions({ logDriver: "", logOptions: {}, logRotation: inputs.logRotation }, await engineLogDriver(inputs.host));
    try {
        await withEnvironment(inputs.env, ({ flags, cliEnv }) => docker(inputs.host, [
            "run", "--rm", "--name", name, ...labelFlags(inputs.labels), "--network", inputs.network, ...flags,
            ...mapFlags("--log-opt", logOptions),
            "--entrypoint", "sh", inputs.image, "-c", inputs.command,
        ], { env: cliEnv }));
    } catch (err) {
        const output = err instanceof DockerError ? err.stderr : String(err);
        throw new Error(`release gate: \`${inputs.command}\` failed in ${inputs.image}; nothing was replaced.\n${output.split("\n").slice(-25).join("\n")}`);
    }
    return { passedImage: inputs.image, envHash: envHash(inputs.env) };
}

function recordedState(inputs: ReleaseGateInputs, result: { passedImage: string; envHash: string }) {
    const { env, ...rest } = inputs;
    return { ...rest, ...result };
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: ReleaseGateInputs) {
        return { id: `${inputs.namePrefix}-gate`, outs: recordedState(inputs, await runTests(inputs)) };
    },
    async diff(_id: string, olds: ReleaseGateInputs & { envHash: string }, news: ReleaseGateInputs) {
        const changed = changedKeys<any>(olds, { ...news, envHash: envHash(news.env) }, rerunKeys);
        return { changes: changed.length > 0 };
    },
    async update(_id: string, _olds: ReleaseGateInputs, news: ReleaseGateInputs) {
        return { outs: recordedState(news, await runTests(news)) };
    },
    async read(id: string, props: ReleaseGateInputs) {
        return { id, props };
    },
    async delete() {},
};
