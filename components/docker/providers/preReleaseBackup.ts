import * as pulumi from "@pulumi/pulumi";
import { docker, DockerError } from "../cli";

export interface PreReleaseBackupInputs {
    host: string;
    /** The stack's backup scheduler on `host` (a container name). */
    scheduler: string;
    /** The SQL services the app depends on that it backs up. */
    services: string[];
    /** The release about to run its release command: one backup per release. */
    release: string;
}

/** What a backup before a release command is tagged with, besides the scheduler's tags. */
export const BEFORE_RELEASE_TAG = "before-release";

/** How long a backup before a release may take before the up fails. */
const BACKUP_TIMEOUT_MS = 2 * 3600_000;

/** `berth-backup now` of the services, through the scheduler (its lock: never beside a scheduled backup of them). */
async function backUp(inputs: PreReleaseBackupInputs): Promise<void> {
    try {
        await docker(inputs.host, ["exec", "--env", `BERTH_BACKUP_EXTRA_TAG=${BEFORE_RELEASE_TAG}`, inputs.scheduler, "berth-backup", "now", ...inputs.services], { timeoutMs: BACKUP_TIMEOUT_MS });
    } catch (err) {
        const why = err instanceof DockerError ? err.stderr.trim() || err.message : (err as Error).message;
        throw new Error(`${inputs.host || "the local engine"}: the backup of ${inputs.services.join(", ")} before the release command failed, so the release command did not run `
            + `and the running release serves on: ${why}. Fix the repository (npm run backups -- status) and run up again, or set berth:backupBeforeRelease to false to release without it.`);
    }
}

/** A backup of the SQL services before each new release's release command, which depends on it. */
export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: PreReleaseBackupInputs) {
        await backUp(inputs);
        return { id: "pre-release-backup", outs: inputs };
    },
    async diff(_id: string, olds: PreReleaseBackupInputs, news: PreReleaseBackupInputs) {
        return { changes: olds.release !== news.release || olds.scheduler !== news.scheduler || olds.services.join() !== news.services.join() };
    },
    async update(_id: string, olds: PreReleaseBackupInputs, news: PreReleaseBackupInputs) {
        if (olds.release !== news.release || olds.services.join() !== news.services.join()) await backUp(news);
        return { outs: news };
    },
    async read(id: string, props: PreReleaseBackupInputs) {
        return { id, props };
    },
    async delete() {},
};
