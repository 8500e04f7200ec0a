import * as pulumi from "@pulumi/pulumi";
import { parseImageRef } from "../../imageReference";
import { setTimeout as sleep } from "timers/promises";
import { docker, DockerError, DockerHost, inspect } from "../cli";
import { LABEL } from "../../naming";

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
    /** Releases recorded since the engine was last swept for everything the stack left behind. */
    releasesSinceSweep: number;
}

/**
 * Every this many releases the engine is swept (its whole image list read) for what a release that dropped out of
 * the history cannot name: builds that never became a release (a failed deploy), dangling rebuilds, a killed release
 * gate's container. Listing images costs the engine time that grows with all the images it holds (1 s at 3,000), so
 * the releases in between remove only the image that fell off the history, which the state names.
 */
export const SWEEP_EVERY_RELEASES = 5;

/** The stack's releases, newest first, without repeats (a rollback moves an old release back to the front). */
export function nextReleases(releases: string[], imageRef: string, keep: number): string[] {
    return [imageRef, ...releases.filter((r) => r !== imageRef)].slice(0, keep + 1);
}

/** The releases `next` no longer keeps: their images can go. */
export function droppedReleases(previous: string[], next: string[]): string[] {
    return previous.filter((r) => !next.includes(r));
}

/** Whether this release sweeps the engine: the first one, then every SWEEP_EVERY_RELEASES-th. */
export function sweepDue(releasesSinceSweep: number | undefined): boolean {
    return releasesSinceSweep === undefined || releasesSinceSweep + 1 >= SWEEP_EVERY_RELEASES;
}

/**
 * Removes what deploys leave behind on the engine, for this stack only: its exited release-gate containers, and the
 * images it built that are no longer among its kept releases. Images in use are never forced; other stacks' are
 * never listed.
 */
export async function sweepStack(host: DockerHost, stack: string, releases: string[]): Promise<void> {
    // Release-gate runs are the only throw-away containers berth starts (with --rm, but a killed run can leave one).
    await prune(host, ["container", "prune", "--force", "--filter", `label=${LABEL.stack}=${stack}`, "--filter", `label=${LABEL.role}=release-gate`]);
    const listed = await docker(host, [
        "image", "ls", "--no-trunc", "--filter", `label=${LABEL.builtBy}=${stack}`, "--format", "{{.ID}} {{.Repository}} {{.Tag}} {{.Digest}}",
    ]);
    const keptDigests = new Set(releases.map((r) => parseImageRef(r)?.digest));
    const stale = new Set<string>();
    const kept = new Set<string>();
    for (const line of listed.split("\n").filter(Boolean)) {
        const [id, , , digest] = line.split(" ");
        (keptDigests.has(digest) ? kept : stale).add(id);
    }
    await removeImages(host, [...stale].filter((id) => !kept.has(id)));
    await prune(host, ["image", "prune", "--force", "--filter", `label=${LABEL.builtBy}=${stack}`]);
}

/** The engine's answer while another prune (of any stack, or by hand) runs: it runs one at a time. */
const PRUNE_BUSY = /a prune operation is already running/;

/** A prune of this stack's leftovers; while the engine runs another one, asked again each second, for up to 60 s. */
async function prune(host: DockerHost, args: string[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
        try {
            await docker(host, args);
            return;
        } catch (err) {
            if (!(err instanceof DockerError && PRUNE_BUSY.test(err.stderr)) || attempt >= 60) throw err;
            await sleep(1000);
        }
    }
}

/** The images of releases that fell off the history (each looked up by its reference: no listing). */
async function removeDroppedReleases(host: DockerHost, dropped: string[]): Promise<void> {
    const images = await Promise.all(dropped.map((ref) => inspect(host, "image", ref)));
    await removeImages(host, images.filter((image) => image !== undefined).map((image) => image.Id));
}

async function removeImages(host: DockerHost, ids: string[]): Promise<void> {
    for (const id of ids) {
        await docker(host, ["image", "rm", "--force", id]).catch(() => undefined); // in use or already gone: keep it
    }
}

async function record(inputs: ReleaseHistoryInputs, releases: string[], previous: ReleaseHistoryState | undefined): Promise<ReleaseHistoryState> {
    const sweep = sweepDue(previous?.releasesSinceSweep);
    if (sweep) {
        await sweepStack(inputs.host, inputs.stack, releases);
    } else {
        await removeDroppedReleases(inputs.host, droppedReleases(previous!.releases, releases));
    }
    return { ...inputs, releases, previous: releases[1] ?? "", releasesSinceSweep: sweep ? 0 : previous!.releasesSinceSweep + 1 };
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: ReleaseHistoryInputs) {
        return { id: `${inputs.stack}-releases`, outs: await record(inputs, [inputs.imageRef], undefined) };
    },
    async diff(_id: string, olds: ReleaseHistoryState, news: ReleaseHistoryInputs) {
        return { changes: olds.imageRef !== news.imageRef || olds.keep !== news.keep || olds.host !== news.host };
    },
    async update(_id: string, olds: ReleaseHistoryState, news: ReleaseHistoryInputs) {
        // Another engine: what the old one holds is not this history's to remove; the new one starts with a sweep.
        const previous = olds.host === news.host ? olds : undefined;
        return { outs: await record(news, nextReleases(olds.releases ?? [], news.imageRef, news.keep), previous) };
    },
    async read(id: string, props: ReleaseHistoryState) {
        return { id, props };
    },
    async delete() {},
};
