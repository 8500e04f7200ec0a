import * as pulumi from "@pulumi/pulumi";
import { isDigestPinned, parseImageRef, repositoryOf } from "../../imageReference";
import { DockerHost, inspect } from "../cli";
import { pullIfMissing, RegistryLogin } from "./image";
import { LABEL } from "../../naming";

export interface PulledImageInputs {
    host: DockerHost;
    /** `repo:tag` or `repo@sha256:…` */
    reference: string;
    registry?: RegistryLogin;
}

/** Pulls the reference (a no-op download when the engine has it) and returns its digest reference. */
async function resolve(inputs: PulledImageInputs): Promise<{ imageRef: string; imageId: string; version: string }> {
    const parsed = parseImageRef(inputs.reference);
    const repository = parsed ? repositoryOf(parsed) : inputs.reference;
    await pullIfMissing(inputs.host, inputs.reference, inputs.registry);
    const image = await inspect(inputs.host, "image", inputs.reference);
    const imageRef: string | undefined = (image?.RepoDigests ?? []).find((d: string) => d.startsWith(`${repository}@`));
    if (!image || !imageRef) {
        throw new Error(`${inputs.reference} has no registry digest on the engine: deploy images that were pushed to a registry`);
    }
    // Images berth built carry their version (the git sha) as a label.
    return { imageRef, imageId: image.Id, version: image.Config?.Labels?.[LABEL.version] ?? "" };
}

function recordedState(inputs: PulledImageInputs, resolved: { imageRef: string; imageId: string; version: string }) {
    return { host: inputs.host, reference: inputs.reference, ...resolved };
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: PulledImageInputs) {
        return { id: inputs.reference, outs: recordedState(inputs, await resolve(inputs)) };
    },
    async diff(_id: string, olds: PulledImageInputs & { imageRef: string }, news: PulledImageInputs) {
        // A digest never moves; a tag may, so its current digest is looked up (`latest` must redeploy when it moves).
        const pinned = isDigestPinned(news.reference);
        const moved = !pinned && olds.reference === news.reference && (await resolve(news)).imageRef !== olds.imageRef;
        return { changes: olds.reference !== news.reference || olds.host !== news.host || moved };
    },
    async update(_id: string, _olds: PulledImageInputs, news: PulledImageInputs) {
        return { outs: recordedState(news, await resolve(news)) };
    },
    async read(id: string, props: PulledImageInputs) {
        return { id, props };
    },
    // Images stay: they are what rollback needs.
    async delete() {},
};
