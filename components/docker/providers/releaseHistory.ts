import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost } from "../cli";

export interface ReleaseHistoryInputs {
    host: DockerHost;
    stack: string;
    /** The image now deployed (`repo@sha256:…`). */
    imageRef: string;
    /** Previous releases kept for rollback. */
    keep: number;
}

interface ReleaseHistoryState extends ReleaseHistoryInputs {
    /** Most recent first: the current release, then up to `keep` previous ones. */
    releases: string[];
    previous: string;
}

/** The stack's releases, newest first, without repeats (a rollback moves an old release back to the front). */
export function nextReleases(releases: string[], imageRef: string, keep: number): string[] {
    return [imageRef, ...releases.filter((r) => r !== imageRef)].slice(0, keep + 1);
}

/**
 * Removes what deploys leave behind on the engine, for this stack only: its exited containers, and the images it
 * built that are no longer among its kept releases. Images in use are never forced; other stacks' are never listed.
 */
export async function pruneStack(host: DockerHost, stack: string, releases: string[]): Promise<void> {
    // Release-gate runs are the only throw-away containers berth starts (with --rm, but a killed run can leave one).
    await docker(host, ["container", "prune", "--force", "--filter", `label=berth.stack=${stack}`, "--filter", "label=berth.role=release-gate"]);
    const listed = await docker(host, [
        "image", "ls", "--no-trunc", "--filter", `label=berth.built-by=${stack}`, "--format", "{{.ID}} {{.Repository}} {{.Tag}} {{.Digest}}",
    ]);
    const keptDigests = new Set(releases.map((r) => r.split("@")[1]));
    const stale = new Set<string>();
    const kept = new Set<string>();
    for (const line of listed.split("\n").filter(Boolean)) {
        const [id, , , digest] = line.split(" ");
        (keptDigests.has(digest) ? kept : stale).add(id);
    }
    for (const id of [...stale].filter((id) => !kept.has(id))) {
        await docker(host, ["image", "rm", "--force", id]).catch(() => undefined); // in use or already gone: keep it
    }
    await docker(host, ["image", "prune", "--force", "--filter", `label=berth.built-by=${stack}`]);
}

async function record(inputs: ReleaseHistoryInputs, releases: string[]): Promise<ReleaseHistoryState> {
    await pruneStack(inputs.host, inputs.stack, releases);
    return { ...inputs, releases, previous: releases[1] ?? "" };
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: ReleaseHistoryInputs) {
        return { id: `${inputs.stack}-releases`, outs: await record(inputs, [inputs.imageRef]) };
    },
    async diff(_id: string, olds: ReleaseHistoryState, news: ReleaseHistoryInputs) {
        return { changes: olds.imageRef !== news.imageRef || olds.keep !== news.keep || olds.host !== news.host };
    },
    async update(_id: string, olds: ReleaseHistoryState, news: ReleaseHistoryInputs) {
        return { outs: await record(news, nextReleases(olds.releases ?? [], news.imageRef, news.keep)) };
    },
    async read(id: string, props: ReleaseHistoryState) {
        return { id, props };
    },
    async delete() {},
};
