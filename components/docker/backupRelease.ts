import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { BackupReleaseInputs } from "./providers/backupRelease";
import { InputsOf } from "./resource";

/** The release running on every host, told to a host's backup scheduler so its snapshots are tagged with it. */
export class BackupRelease extends DockerResource {
    constructor(name: string, args: InputsOf<BackupReleaseInputs>, opts?: pulumi.CustomResourceOptions) {
        super("backupRelease", "BackupRelease", name, { ...args }, opts);
    }
}
