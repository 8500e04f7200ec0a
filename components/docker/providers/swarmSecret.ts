import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost, labelFlags } from "../cli";
import { changedKeys, ignoreMissing } from "../resource";

export interface SwarmSecretInputs {
    /** A manager of the cluster. */
    host: DockerHost;
    /** The secret is named `<namePrefix>-<hash of its content>`. */
    namePrefix: string;
    /** The value; only its hash is recorded as output. */
    content: string;
    labels: Record<string, string>;
}

/**
 * The name of a secret holding `content`: Swarm secrets cannot change, so another content is another secret (a new
 * one added, services moved to it, the old one removed). Like a container's recorded envHash, only a hash shows.
 */
export function secretName(namePrefix: string, content: string): string {
    return `${namePrefix}-${crypto.createHmac("sha256", namePrefix).update(content).digest("hex").slice(0, 12)}`;
}

async function secretExists(host: DockerHost, name: string): Promise<boolean> {
    // The filter matches name prefixes: the exact name is checked here.
    const names = await docker(host, ["secret", "ls", "--filter", `name=${name}`, "--format", "{{.Name}}"]);
    return names.split("\n").includes(name);
}

/** The content is compared through the name (state keeps no value). */
const replaceKeys = ["host", "namePrefix", "labels"] as const;

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: SwarmSecretInputs) {
        const name = secretName(inputs.namePrefix, inputs.content);
        // Made again with the same content after an interrupted run: it already exists, which is as good.
        if (!(await secretExists(inputs.host, name))) {
            await docker(inputs.host, ["secret", "create", ...labelFlags(inputs.labels), name, "-"], { stdin: inputs.content });
        }
        const { content, ...rest } = inputs;
        return { id: name, outs: { ...rest, name } };
    },
    async diff(_id: string, olds: SwarmSecretInputs & { name: string }, news: SwarmSecretInputs) {
        const replaces = changedKeys(olds, news, replaceKeys);
        if (secretName(news.namePrefix, news.content) !== olds.name) replaces.push("content");
        return { changes: replaces.length > 0, replaces };
    },
    async read(id: string, props: SwarmSecretInputs & { name: string }) {
        // Removed by hand: the next `up` makes it again (same content, same name).
        return (await secretExists(props.host, id)) ? { id, props } : { id: "", props: {} };
    },
    async delete(id: string, props: SwarmSecretInputs) {
        await docker(props.host, ["secret", "rm", id]).catch(ignoreMissing);
    },
};
