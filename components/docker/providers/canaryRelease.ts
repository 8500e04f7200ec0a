import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { canaryReplicas, combined, releaseConfig, releaseFigures, ReleaseFigures, verdict, WatchBounds, WatchPhase } from "../../canary";
import { LABEL } from "../../naming";
import { docker, DockerHost, execOutput, stopAndRemoveContainer } from "../cli";
import type { DockerContainerInputs } from "../commands/container";
import { changedKeys, ignoreMissing } from "../resource";
import { createContainer } from "./container";
import { BERTH_DIR, oldWorkersGone, replaceAndReload } from "./nginx";
import { upstreamConfig } from "./proxyRoutes";

/** One host of the release: its new-release container as its replicas would run (environment apart), and how many replicas it has. */
export interface CanaryTarget {
    spec: Omit<DockerContainerInputs, "env" | "registry">;
    replicas: number;
}

export interface CanaryReleaseInputs {
    stack: string;
    targets: CanaryTarget[];
    /** Each target's environment, in order; may hold secrets: never recorded. */
    env: Record<string, string>[];
    phases: WatchPhase[];
    bounds: WatchBounds;
}

/** The release log each proxy writes while a release is watched (images/proxy/app.conf). */
export const RELEASE_LOG = "/var/log/nginx/berth-release.log";
const RELEASE_FILES = [`${BERTH_DIR}/release.conf`, `${BERTH_DIR}/canary-upstream.conf`, `${BERTH_DIR}/release-location.conf`];

/** Names what a proxy is told (release.conf and the canary group), so berth sees when a reload took effect; `none` for no split, as the image starts. */
export function releaseId(phase: WatchPhase | undefined, canaries: string[]): string {
    if (!phase && canaries.length === 0) return "none";
    return crypto.createHash("sha256").update(releaseConfig(phase) + upstreamConfig(canaries)).digest("hex").slice(0, 16);
}

/**
 * The script run in the proxy: the split (or, with no phase, none) and the canary group written, the release log
 * emptied, nginx reloaded and confirmed; lifting a split waits for the old workers, which may still send requests to
 * the canaries, before the caller removes them.
 */
export function releaseScript(phase: WatchPhase | undefined, canaries: string[], drainSeconds: number): string {
    const id = releaseId(phase, canaries);
    const write = (file: string, text: string) => `printf '%s' '${text.replace(/'/g, `'"'"'`)}' > ${file}`;
    return replaceAndReload(RELEASE_FILES, [
        write(RELEASE_FILES[0], releaseConfig(phase)),
        write(RELEASE_FILES[1], upstreamConfig(canaries)),
        write(RELEASE_FILES[2], `location = /__berth/release {\n    return 200 "${id}\\n";\n}\n`),
        `: > ${RELEASE_LOG}`,
    ], "/__berth/release", id, phase ? [] : [oldWorkersGone(drainSeconds)]);
}

/** A proxy started from an image older than canaries has no split to set: such a release goes out unwatched. */
const SUPPORTS_SPLIT = `grep -qs 'include /etc/nginx/berth/release.conf' /etc/nginx/nginx.conf && echo yes || echo no`;

interface HostRun {
    target: CanaryTarget;
    env: Record<string, string>;
    proxy: string;
    /** `address:port` of each new-release container started here. */
    started: string[];
}

const where = (host: DockerHost) => host || "the local engine";

/** The stack's containers of a role on a host, with their images. */
async function containersOf(host: DockerHost, stack: string, role: string): Promise<{ name: string; image: string }[]> {
    const lines = await docker(host, ["ps", "--filter", `label=${LABEL.stack}=${stack}`, "--filter", `label=${LABEL.role}=${role}`, "--format", "{{.Names}} {{.Image}}"]);
    return lines.split("\n").filter(Boolean).map((line) => {
        const [name, image] = line.split(" ");
        return { name, image };
    });
}

/**
 * Sends every request back to the replicas, then removes the new release's containers (and any an interrupted run
 * left). A proxy that serves no split (as it starts) is left as it is: no reload.
 */
export async function endWatch(host: DockerHost, stack: string, proxy: string | undefined, drainSeconds: number): Promise<void> {
    const unsplit = `grep -qs 'return 200 "${releaseId(undefined, [])}' ${RELEASE_FILES[2]} && exit 0`;
    if (proxy) await execOutput(host, proxy, ["bash", "-c", `set -e\n${unsplit}\n${releaseScript(undefined, [], drainSeconds)}`]);
    const canaries = await docker(host, ["ps", "--all", "--quiet", "--filter", `label=${LABEL.stack}=${stack}`, "--filter", `label=${LABEL.role}=canary`]);
    await Promise.all(canaries.split("\n").filter(Boolean).map((id) => stopAndRemoveContainer(host, id, drainSeconds).catch(ignoreMissing)));
}

/** The image a release's inputs watch; undefined while the engine does not know it yet (a preview of a new build). */
function imageOf(inputs: CanaryReleaseInputs): string | undefined {
    return Array.isArray(inputs.targets) ? inputs.targets[0]?.spec?.image : undefined;
}

/** A phase as the error and the record name it. */
function phaseName(phase: WatchPhase): string {
    return phase.percent >= 100 ? `the watch (all traffic, ${phase.seconds} s)` : `the canary (${phase.percent}% of traffic, ${phase.seconds} s)`;
}

/**
 * Runs the release's phases on every host whose replicas run another image: new-release containers beside the
 * replicas, each proxy sending them the phase's share, the proxies' logs judged together. Whatever the verdict, the
 * proxies send everything back to the replicas and the new containers go; a bad verdict fails here, before any
 * replica changes. Returns what was found.
 */
async function watch(inputs: CanaryReleaseInputs): Promise<string> {
    const image = imageOf(inputs) ?? "";
    const drain = inputs.targets[0]?.spec.stopTimeoutSeconds ?? 0;
    const candidates = await Promise.all(inputs.targets.map(async (target, i) => {
        const { host } = target.spec;
        const [proxy] = await containersOf(host, inputs.stack, "proxy");
        // What an interrupted run left (a split, its containers) goes first.
        await endWatch(host, inputs.stack, proxy?.name, drain);
        const replicas = await containersOf(host, inputs.stack, "app");
        const supported = proxy && (await execOutput(host, proxy.name, ["bash", "-c", SUPPORTS_SPLIT])).trim() === "yes";
        return replicas.some((r) => r.image !== target.spec.image) && supported ? { target, env: inputs.env[i] ?? {}, proxy: proxy.name, started: [] } as HostRun : undefined;
    }));
    const runs = candidates.filter((run): run is HostRun => run !== undefined);
    if (runs.length === 0) return `${image}: not watched (no host's proxy serves another release)`;
    const said: string[] = [];
    let old: ReleaseFigures | undefined;
    try {
        for (const phase of inputs.phases) {
            await Promise.all(runs.map(async (run) => {
                const wanted = phase.percent >= 100 ? run.target.replicas : canaryReplicas(phase.percent, run.target.replicas);
                while (run.started.length < wanted) {
                    const container = await createContainer({ ...run.target.spec, env: run.env });
                    run.started.push(`${container.address}:${run.target.spec.listenPort}`);
                }
                await execOutput(run.target.spec.host, run.proxy, ["bash", "-c", `set -e\n${releaseScript(phase, run.started, drain)}`]);
            }));
            await new Promise((resolve) => setTimeout(resolve, phase.seconds * 1000));
            const logs = await Promise.all(runs.map((run) => execOutput(run.target.spec.host, run.proxy, ["cat", RELEASE_LOG])));
            const figures = logs.map(releaseFigures);
            // The old release's figures over the same window; the watch (no old traffic) compares with the canary's.
            if (phase.percent < 100) old = combined(figures.map((f) => f.app));
            const judged = verdict(old, combined(figures.map((f) => f.canary)), inputs.bounds);
            said.push(`${phaseName(phase)} on ${runs.map((r) => where(r.target.spec.host)).join(", ")}: ${judged.figures}`);
            if (!judged.promote) {
                throw new Error([
                    `${image} was rolled back by ${phaseName(phase)}: ${judged.reasons.join("; ")}.`,
                    ...said,
                    "Nothing was replaced: the old release serves all traffic. Fix the release (or set berth:image back), then run up again.",
                ].join("\n"));
            }
        }
    } finally {
        await Promise.all(runs.map((run) => endWatch(run.target.spec.host, inputs.stack, run.proxy, drain)));
    }
    return said.join("\n");
}

/** State keeps no environment values, and records the image last watched and what was found. */
function recorded(inputs: CanaryReleaseInputs, found: string) {
    const { env, ...rest } = inputs;
    return { ...rest, released: imageOf(inputs) ?? "", found };
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: CanaryReleaseInputs) {
        return { id: `${inputs.stack}-release-watch`, outs: recorded(inputs, await watch(inputs)) };
    },
    async diff(_id: string, olds: CanaryReleaseInputs & { released: string }, news: CanaryReleaseInputs) {
        return { changes: olds.released !== imageOf(news) || changedKeys<any>(olds, news, ["phases", "bounds"]).length > 0 };
    },
    async update(_id: string, olds: CanaryReleaseInputs & { released: string; found: string }, news: CanaryReleaseInputs) {
        // Only a new image is watched; new settings apply to the next release.
        return { outs: recorded(news, olds.released === imageOf(news) ? olds.found : await watch(news)) };
    },
    async read(id: string, props: CanaryReleaseInputs) {
        return { id, props };
    },
    async delete() {},
};
