import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { isRemoteEngine } from "./config";
import { DockerHost, engineInfo } from "./docker/cli";

/** What berth checks of an engine it deploys to (from `docker info`, and the data root's free space where known). */
export interface EngineFacts {
    liveRestore: boolean;
    /** Part of a swarm: live-restore does not apply there (Swarm reschedules instead). */
    swarm: boolean;
    storageDriver: string;
    dataRoot: string;
    /** Free bytes on the data root's filesystem; known for engines on this machine. */
    freeBytes?: number;
}

/** Below this, a build or a pull of a release may fail for lack of space. */
export const MIN_FREE_BYTES = 2 * 1024 ** 3;
const RECOMMENDED_DRIVERS = ["overlay2", "overlayfs", "btrfs", "zfs"];

export function engineFacts(info: any, freeBytes?: number): EngineFacts {
    return {
        liveRestore: info.LiveRestoreEnabled === true,
        swarm: info.Swarm?.LocalNodeState === "active",
        storageDriver: String(info.Driver ?? ""),
        dataRoot: String(info.DockerRootDir ?? ""),
        ...(freeBytes !== undefined ? { freeBytes } : {}),
    };
}

/** What is wrong with an engine for running a stack, each with the fix; nothing when all is well. */
export function engineWarnings(host: DockerHost, facts: EngineFacts): string[] {
    const where = host || "the local Docker engine";
    const warnings: string[] = [];
    if (!facts.liveRestore && !facts.swarm) {
        warnings.push(`${where} runs without live-restore: a restart or upgrade of its dockerd stops every container, and the app is down until they are back. `
            + `Set "live-restore": true in /etc/docker/daemon.json and reload dockerd (systemctl reload docker, or kill -HUP its pid): no container stops.`);
    }
    if (facts.storageDriver && !RECOMMENDED_DRIVERS.includes(facts.storageDriver)) {
        warnings.push(`${where} stores images with the ${facts.storageDriver} driver, slow and space-hungry for image layers: use overlay2 ("storage-driver": "overlay2" in /etc/docker/daemon.json; images are pulled again after the change).`);
    }
    if (facts.freeBytes !== undefined && facts.freeBytes < MIN_FREE_BYTES) {
        warnings.push(`${where} has ${(facts.freeBytes / 1024 ** 3).toFixed(1)} GiB free on its data root ${facts.dataRoot}: a build or pull of the next release may fail for lack of space. `
            + `Free space (docker system prune -a removes unused images; berth keeps only berth:keepReleases) or grow the disk.`);
    }
    return warnings;
}

/** Free bytes of the filesystem holding `dir`, when it is on this machine and readable. */
function freeBytesOf(dir: string): number | undefined {
    try {
        const stats = fs.statfsSync(dir);
        return stats.bavail * stats.bsize;
    } catch {
        return undefined;
    }
}

/**
 * Checks each engine while the program runs (no time added to a run) and warns, at preview and `up`, about what
 * would hurt the app later: no live-restore, a poor storage driver, a nearly full disk. An engine that does not
 * answer is left to the host checks, which fail the run naming it.
 */
export async function warnAboutEngines(hosts: DockerHost[], resource: pulumi.Resource, forSwarm = false): Promise<string[]> {
    const all = await Promise.all(hosts.map(async (host) => {
        try {
            const info = await engineInfo(host, 30_000);
            const facts = engineFacts(info, isRemoteEngine(host) ? undefined : freeBytesOf(info.DockerRootDir));
            // A host about to join a swarm cannot have live-restore: not a thing to warn about.
            return engineWarnings(host, { ...facts, swarm: facts.swarm || forSwarm });
        } catch {
            return [];
        }
    }));
    const warnings = all.flat();
    for (const warning of warnings) pulumi.log.warn(warning, resource);
    return warnings;
}
