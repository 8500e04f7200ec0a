import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { AppImage } from "./appImage";
import { AppService } from "./appService";
import { BerthSettings } from "./config";
import { DependencyService } from "./dependencyService";
import { StackNetwork } from "./stackNetwork";

export interface EnvironmentArgs {
    stack: string;
    settings: BerthSettings;
    /** Where relative paths in the settings (the build context) start. */
    projectDir: string;
    registryPassword: pulumi.Input<string>;
    postgresPassword: pulumi.Input<string>;
}

/** One stack's whole deployment: network, dependency services, the app's image and its replicas. */
export class Environment extends pulumi.ComponentResource {
    readonly url: string | undefined;
    readonly imageRef: pulumi.Output<string>;
    readonly version: string;
    readonly containers: pulumi.Output<string[]>;

    constructor(name: string, args: EnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:index:Environment", name, {}, opts);
        const { settings, stack } = args;
        const dockerHost = settings.dockerHost;
        const network = new StackNetwork(`${name}-net`, { dockerHost, stack }, { parent: this });
        const redis = new DependencyService(`${name}-redis`, {
            dockerHost, stack, kind: "redis", image: settings.redisImage, network: network.name, ephemeral: settings.ephemeral,
        }, { parent: this });
        const postgres = new DependencyService(`${name}-postgres`, {
            dockerHost, stack, kind: "postgres", image: settings.postgresImage, network: network.name,
            ephemeral: settings.ephemeral, password: args.postgresPassword,
        }, { parent: this });
        const image = new AppImage(`${name}-image`, {
            dockerHost,
            app: settings.app.name,
            branch: settings.app.branch,
            context: path.resolve(args.projectDir, settings.app.context),
            registry: { ...settings.registry, password: args.registryPassword },
        }, { parent: this });
        const app = new AppService(`${name}-app`, {
            dockerHost,
            stack,
            app: settings.app.name,
            image: image.imageRef,
            version: image.tag,
            replicas: settings.app.replicas,
            network: network.name,
            env: { REDIS_URL: redis.url, DATABASE_URL: postgres.url },
            hostPort: settings.app.hostPort,
            containerPort: settings.app.containerPort,
            restart: settings.app.restart,
            memoryBytes: settings.app.memoryBytes,
            cpus: settings.app.cpus,
            dependsOn: [redis, postgres],
        }, { parent: this });
        this.url = app.url;
        this.imageRef = image.imageRef;
        this.version = image.tag;
        this.containers = app.containerNames;
        this.registerOutputs({ url: this.url, imageRef: this.imageRef, version: this.version, containers: this.containers });
    }
}
