import * as pulumi from "@pulumi/pulumi";
import { AppSettings, hostUrl, LogRotation } from "./config";
import { DockerContainer } from "./docker/container";
import { ReleaseGate } from "./docker/releaseGate";
import type { RegistryLogin } from "./docker/providers/image";
import { AppProcess, processLabels, webProcess } from "./deployment";
import { berthLabels, dockerName, LABEL } from "./naming";

export interface AppServiceArgs {
    host: string;
    stack: string;
    app: AppSettings;
    /** Image by digest (`repo@sha256:…`), so replicas are replaced exactly when the image changes. */
    image: pulumi.Input<string>;
    version: pulumi.Input<string>;
    /** Login that pulls the image on an engine that lacks it. */
    pullLogin?: pulumi.Input<RegistryLogin>;
    network: pulumi.Input<string>;
    /** Connection settings of the services the app depends on, merged under the app's own env. */
    serviceEnv: pulumi.Input<Record<string, string>>;
    /** Replicas start only after these exist; dependency containers exist only once healthy. */
    dependsOn: pulumi.Resource[];
    logRotation: LogRotation;
    /** Replicas on this host (the stack's total spread over its hosts). */
    replicas: number;
    /** Run the release gate (app.testCommand) here: on one host of the stack, before any replica changes anywhere. */
    runsReleaseGate: boolean;
    /**
     * With the release gate: the release's watch (berth:canary, berth:watchSeconds), made once the gate and release
     * command exist and run after them; replicas and roles everywhere wait for it too.
     */
    watchRelease?: (after: pulumi.Resource[]) => pulumi.Resource;
}

export interface ProcessContainerArgs {
    host: pulumi.Input<string>;
    app: Pick<AppSettings, "logDriver" | "logOptions">;
    image: pulumi.Input<string>;
    network: pulumi.Input<string>;
    logRotation: LogRotation;
}

/**
 * A process of the app as a container on a host (its name, labels, host port and environment apart): a web replica,
 * a role's container, or a new release watched beside the replicas.
 */
export function processContainer(process: AppProcess, args: ProcessContainerArgs) {
    return {
        host: args.host,
        image: args.image,
        command: process.command,
        ...(process.init ? { init: true } : {}),
        networks: pulumi.output(args.network).apply((network) => [{ name: network, aliases: [process.alias] }]),
        volumes: [],
        restart: process.restart,
        memoryBytes: process.memoryBytes,
        cpus: process.cpus,
        healthcheck: process.healthcheck,
        // Web serves a port and must have a healthcheck; a role without one of its own is gated by staying up.
        ...(process.listenPort !== undefined ? { listenPort: process.listenPort, requireHealthcheck: true } : {}),
        ...(process.upSeconds !== undefined ? { noHealthcheck: process.healthcheck === undefined, upSeconds: process.healthcheck === undefined ? process.upSeconds : 0 } : {}),
        stopTimeoutSeconds: process.stopTimeoutSeconds,
        logDriver: args.app.logDriver,
        logOptions: args.app.logOptions,
        logRotation: args.logRotation,
        healthTimeoutSeconds: process.healthTimeoutSeconds,
    };
}

/** Host port of replica `index` (from 0): none behind the proxy, else consecutive ports from hostPort. */
export function replicaHostPort(app: Pick<AppSettings, "hostPort" | "proxy">, index: number): number {
    return app.hostPort > 0 && !app.proxy ? app.hostPort + index : 0;
}

/** The environment every process of the app gets: its port, its services' settings and secrets, its own env. */
export function appEnvironment(app: Pick<AppSettings, "containerPort" | "env">, serviceEnv: pulumi.Input<Record<string, string>>): pulumi.Output<Record<string, string>> {
    return pulumi.output(serviceEnv).apply((services): Record<string, string> => ({ PORT: String(app.containerPort), ...services, ...app.env }));
}

export interface ReleaseStepsArgs {
    host: pulumi.Input<string>;
    stack: string;
    app: AppSettings;
    image: pulumi.Input<string>;
    network: pulumi.Input<string>;
    env: pulumi.Input<Record<string, string>>;
    logRotation: LogRotation;
    /** The steps start after these (the services they test against). */
    after: pulumi.Resource[];
}

/**
 * The release gate (app.testCommand), then the release command, in one-off containers of the new image on `host`:
 * replicas everywhere wait for them, and a failure stops the release before any replica changes.
 */
export function releaseSteps(name: string, parent: pulumi.Resource, args: ReleaseStepsArgs, runs = true): { steps: ReleaseGate[]; output?: pulumi.Output<string> } {
    const { app } = args;
    const step = (purpose: "release gate" | "release command", command: string, after: pulumi.Resource[]) => new ReleaseGate(
        `${name}-${purpose === "release gate" ? "tests" : "release-command"}`, {
            host: args.host,
            image: args.image,
            command,
            network: args.network,
            env: args.env,
            labels: berthLabels(args.stack, "release-gate", { [LABEL.app]: app.name }),
            namePrefix: dockerName(args.stack, app.name, purpose === "release gate" ? "tests" : "release"),
            logRotation: args.logRotation,
            purpose,
            timeoutSeconds: purpose === "release command" ? app.releaseCommandTimeoutSeconds : 0,
        }, { parent, dependsOn: after });
    const gate = app.testCommand && runs ? step("release gate", app.testCommand, args.after) : undefined;
    const releaseCommand = app.releaseCommand && runs ? step("release command", app.releaseCommand, gate ? [...args.after, gate] : args.after) : undefined;
    return { steps: [gate, releaseCommand].filter((s): s is ReleaseGate => s !== undefined), output: releaseCommand?.output };
}

/** N replicas of the app image on the stack network, each created only once its healthcheck passes. */
export class AppService extends pulumi.ComponentResource {
    /** The release gate, release command and watch, when this host runs them: replicas on every host wait for them. */
    readonly releaseSteps: pulumi.Resource[];
    /** What the release command printed last time it ran. */
    readonly releaseOutput?: pulumi.Output<string>;
    /** The images its replicas run (one, once a release is complete). */
    readonly images: pulumi.Output<string[]>;
    readonly containerNames: pulumi.Output<string[]>;
    /** `address:port` of each replica on the stack network, for the proxy. */
    readonly upstreams: pulumi.Output<string[]>;
    /** One URL per published replica. */
    readonly urls: string[];

    constructor(name: string, args: AppServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:service:AppService", name, {}, opts);
        const { app } = args;
        const env = appEnvironment(app, args.serviceEnv);
        const release = releaseSteps(name, this, {
            host: args.host, stack: args.stack, app, image: args.image, network: args.network, env, logRotation: args.logRotation, after: args.dependsOn,
        }, args.runsReleaseGate);
        const watch = args.runsReleaseGate && args.watchRelease ? args.watchRelease([...args.dependsOn, ...release.steps]) : undefined;
        this.releaseSteps = watch ? [...release.steps, watch] : release.steps;
        this.releaseOutput = release.output;
        const web = webProcess(app);
        const replicas = Array.from({ length: args.replicas }, (_, index) => {
            const hostPort = replicaHostPort(app, index);
            return new DockerContainer(`${name}-${index + 1}`, {
                ...processContainer(web, args),
                namePrefix: dockerName(args.stack, ...web.nameParts),
                env,
                labels: processLabels(args.stack, app, web, args.version),
                ports: hostPort > 0 ? [{ internal: app.containerPort, external: hostPort, ip: app.bindAddress, protocol: "tcp" }] : [],
                registry: args.pullLogin,
            }, {
                parent: this,
                // A failing release gate or command stops here: no replica is touched.
                dependsOn: [...args.dependsOn, ...this.releaseSteps],
                // Auto-named replicas let a new one start, healthy, before its predecessor stops; a replica that
                // binds a host port cannot, since one container at a time can hold it.
                deleteBeforeReplace: hostPort > 0,
            });
        });
        this.containerNames = pulumi.all(replicas.map((r) => r.name));
        this.images = pulumi.all(replicas.map((r) => r.image)).apply((images) => [...new Set(images)]);
        // By address: nginx resolves names only when it loads its config, and a restarted replica may get a new address.
        this.upstreams = pulumi.all(replicas.map((r) => r.address)).apply((addresses) =>
            // A stopped replica has no address until `up` recovers it; the proxy routes around it meanwhile.
            addresses.filter(Boolean).map((a) => `${a}:${app.containerPort}`));
        this.urls = replicas.map((_, i) => replicaHostPort(app, i)).filter((p) => p > 0).map((p) => hostUrl(args.host, app.bindAddress, p));
        this.registerOutputs({ containerNames: this.containerNames, urls: this.urls });
    }
}
