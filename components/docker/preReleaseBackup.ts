import * as pulumi from "@pulumi/pulumi";
import { DockerResource } from "./dockerResource";
import type { PreReleaseBackupInputs } from "./providers/preReleaseBackup";
import { InputsOf } from "./resource";

/** A backup of the app's SQL services before a new release's release command (berth:backupBeforeRelease), which waits on it. */
export class PreReleaseBackup extends DockerResource {
    constructor(name: string, args: InputsOf<PreReleaseBackupInputs>, opts?: pulumi.CustomResourceOptions) {
        super("preReleaseBackup", "PreReleaseBackup", name, { ...args }, opts);
    }
}
