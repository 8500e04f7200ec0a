import * as pulumi from "@pulumi/pulumi";
import { AppImage } from "./appImage";
import { AppService } from "./appService";
import { BerthSettings, passwordKey, ServiceSettings } from "./config";
import { DependencyService } from "./dependencyService";
import { StackNetwork } from "./stackNetwork";
import { ReleaseHistory } from "./docker/releaseHistory";
import { WebProxy } from "./webProxy";

export interface EnvironmentArgs {
    stack: string;
    settings: BerthSettings;
    /** Where relative paths in the settings (the build context) start. */
    projectDir: string;
    /** Reads a secret config key (e.g. `postgresPassword`), already checked to be set. */
    secret: (key: string) => pulumi.Output<string>;
}

const SQL_KINDS = ["postgres", "mysql"];

/** `DATABASE_URL`, the convention most frameworks read, points at the first SQL service the app depends on. */
export function databaseService(services: ServiceSettings[], dependsOn: string[]): string | undefined {
    return dependsOn.find((name) => SQL_KINDS.includes(services.find((s) => s.name === name)?.kind ?? ""));
}

/** One stack's whole deployment: network, dependency services, the app's image and its replicas. */
export class Environment extends pulumi.ComponentResource {
    readonly urls: string[];
    readonly imageRef: pulumi.Output<string>;
    readonly version: pulumi.Output<string>;
    readonly containers: pulumi.Output<string[]>;
    readonly services: Record<string, pulumi.Output<string>>;
    /** The release before the current one: what a rollback sets berth:image to. */
    readonly previousImageRef: pulumi.Output<string>;
    readonly releases: pulumi.Output<string[]>;

    constructor(name: string, args: EnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:index:Environment", name, {}, opts);
        const { settings, stack } = args;
        const { dockerHost, app } = settings;
        const network = new StackNetwork(`${name}-net`, { dockerHost, stack }, { parent: this });
        const services = new Map(settings.services.map((service) => [service.name, new DependencyService(`${name}-${service.name}`, {
            dockerHost,
            stack,
            service,
            network: network.name,
            ephemeral: settings.ephemeral,
            password: service.kind === "redis" || service.kind === "custom" ? undefined : args.secret(passwordKey(service.name)),
            logRotation: settings.logRotation,
        }, { parent: this })]));
        const image = new AppImage(`${name}-image`, {
            dockerHost,
            stack,
            app: app.name,
            branch: app.branch,
            source: app.source,
            projectDir: args.projectDir,
            registry: {
                ...settings.registry,
                password: app.source.kind === "build" ? args.secret("registryPassword") : "",
            },
        }, { parent: this });
        const needed = app.dependsOn.map((serviceName) => services.get(serviceName)!);
        const database = databaseService(settings.services, app.dependsOn);
        const serviceEnv = pulumi.all(needed.map((s) => s.connectionEnv())).apply((envs) => Object.assign({}, ...envs) as Record<string, string>);
        const appService = new AppService(`${name}-app`, {
            dockerHost,
            stack,
            app,
            image: image.imageRef,
            version: image.version,
            pullLogin: image.pullLogin,
            network: network.name,
            serviceEnv: database
                ? pulumi.all([serviceEnv, services.get(database)!.url]).apply(([env, url]) => ({ ...env, DATABASE_URL: url }))
                : serviceEnv,
            dependsOn: needed,
            logRotation: settings.logRotation,
        }, { parent: this });
        const proxy = app.proxy && app.hostPort > 0
            ? new WebProxy(`${name}-proxy`, { dockerHost, stack, network: network.name, hostPort: app.hostPort, bindAddress: app.bindAddress, upstreams: appService.upstreams, logRotation: settings.logRotation }, { parent: this })
            : undefined;
        this.urls = proxy ? [proxy.url] : appService.urls;
        // Recorded once the release is in place (replicas healthy, proxy rerouted).
        const history = new ReleaseHistory(`${name}-releases`, {
            host: dockerHost,
            stack,
            imageRef: image.imageRef,
            keep: app.keepReleases,
        }, { parent: this, dependsOn: proxy ? [appService, proxy] : [appService] });
        this.previousImageRef = history.previous;
        this.releases = history.releases;
        this.imageRef = image.imageRef;
        this.version = image.version;
        this.containers = appService.containerNames;
        this.services = Object.fromEntries([...services].map(([serviceName, s]) => [serviceName, s.containerName]));
        this.registerOutputs({ urls: this.urls, imageRef: this.imageRef, version: this.version, containers: this.containers });
    }
}
