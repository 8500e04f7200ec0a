import * as pulumi from "@pulumi/pulumi";
import { appEnvironment, processContainer } from "./appService";
import { processLabels, processOfRole } from "./deployment";
import { AppSettings, LogRotation, RoleSettings } from "./config";
import { DockerContainer } from "./docker/container";
import type { RegistryLogin } from "./docker/providers/image";
import { dockerName } from "./naming";

export interface ProcessRoleArgs {
    host: string;
    stack: string;
    app: AppSettings;
    role: RoleSettings;
    /** The release's image by digest: the web replicas' own. */
    image: pulumi.Input<string>;
    version: pulumi.Input<string>;
    pullLogin?: pulumi.Input<RegistryLogin>;
    network: pulumi.Input<string>;
    /** The services' connection settings and the secret variables, as the web replicas get them. */
    serviceEnv: pulumi.Input<Record<string, string>>;
    logRotation: LogRotation;
    /** This role's containers on this host. */
    replicas: number;
}

/**
 * A process role besides web (a queue consumer, a scheduler): containers of the release's image running the role's
 * command, with the app's environment and services, no port. Each new one is gated by its healthcheck or, without
 * one, by staying up `upSeconds`; then its predecessor is stopped (SIGTERM, stopTimeoutSeconds to finish its job).
 */
export class ProcessRole extends pulumi.ComponentResource {
    readonly role: string;
    readonly containerNames: pulumi.Output<string[]>;

    constructor(name: string, args: ProcessRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:service:ProcessRole", name, {}, opts);
        const { app, role } = args;
        this.role = role.name;
        const process = processOfRole(app, role);
        const env = pulumi.output(appEnvironment(app, args.serviceEnv)).apply((appEnv) => ({ ...appEnv, ...process.env }));
        const containers = Array.from({ length: args.replicas }, (_, index) => new DockerContainer(`${name}-${index + 1}`, {
            ...processContainer(process, args),
            namePrefix: dockerName(args.stack, ...process.nameParts),
            env,
            labels: processLabels(args.stack, app, process, args.version),
            ports: [],
            registry: args.pullLogin,
        }, { parent: this }));
        this.containerNames = pulumi.all(containers.map((container) => container.name));
        this.registerOutputs({ containerNames: this.containerNames });
    }
}
