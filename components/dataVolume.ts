import * as pulumi from "@pulumi/pulumi";
import { DockerVolume } from "./docker/volume";
import { berthLabels, dockerName, LABEL } from "./naming";

export interface DataVolumeArgs {
    host: string;
    stack: string;
    /** What the data is, e.g. `postgres`: part of the volume's name and its `berth.purpose` label. */
    purpose: string;
    /** Ephemeral stacks (per-branch previews) delete their data on destroy; all others keep it. */
    ephemeral: boolean;
}

/** A named volume whose data outlives every container, every replacement and, unless ephemeral, `destroy`. */
export class DataVolume extends pulumi.ComponentResource {
    readonly name: pulumi.Output<string>;

    constructor(name: string, args: DataVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:storage:DataVolume", name, {}, opts);
        const volume = new DockerVolume(`${name}-volume`, {
            host: args.host,
            name: dockerName(args.stack, args.purpose, "data"),
            labels: berthLabels(args.stack, "data", { [LABEL.purpose]: args.purpose }),
            ephemeral: args.ephemeral,
        }, {
            parent: this,
            // Kept data can neither be replaced nor destroyed by accident: `pulumi destroy` stops at it (use
            // --exclude-protected to keep it), and even an unprotected delete leaves the volume on the engine.
            protect: !args.ephemeral,
            retainOnDelete: !args.ephemeral,
        });
        this.name = volume.name;
        this.registerOutputs({ name: this.name });
    }
}
