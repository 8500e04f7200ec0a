import * as pulumi from "@pulumi/pulumi";
import { docker } from "../cli";

export interface BackupReleaseInputs {
    host: string;
    /** The stack's backup scheduler on `host` (a container name). */
    scheduler: string;
    /** The release now running on every host: later snapshots carry it as a tag. */
    release: string;
}

/** Tells the scheduler the release now running (`berth-backup release`), which it keeps on its state volume. */
async function tell(inputs: BackupReleaseInputs): Promise<void> {
    await docker(inputs.host, ["exec", inputs.scheduler, "berth-backup", "release", inputs.release]);
}

/** The release a host's backups are tagged with, told once the release is in place on every host. */
export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: BackupReleaseInputs) {
        await tell(inputs);
        return { id: "backup-release", outs: inputs };
    },
    async diff(_id: string, olds: BackupReleaseInputs, news: BackupReleaseInputs) {
        return { changes: olds.release !== news.release || olds.scheduler !== news.scheduler };
    },
    async update(_id: string, _olds: BackupReleaseInputs, news: BackupReleaseInputs) {
        await tell(news);
        return { outs: news };
    },
    async read(id: string, props: BackupReleaseInputs) {
        return { id, props };
    },
    async delete() {},
};
