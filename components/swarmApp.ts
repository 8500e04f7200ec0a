import * as pulumi from "@pulumi/pulumi";
import { appEnvironment, releaseSteps } from "./appService";
import { AppSettings, EdgeSettings, HealthcheckSettings, LogRotation, RoleSettings, SwarmSettings } from "./config";
import { effectiveLogOptions } from "./docker/commands/container";
import type { RegistryLogin } from "./docker/providers/image";
import { environmentFile } from "./docker/providers/swarmService";
import { SwarmSecret } from "./docker/swarmSecret";
import { SwarmService } from "./docker/swarmService";
import { berthLabels, dockerName, LABEL } from "./naming";
import { AppProcess, processLabels, processOfRole, webProcess } from "./deployment";
import { PROXY_MEMORY_BYTES, PROXY_STOP_SECONDS } from "./webProxy";

export interface SwarmAppArgs {
    /** A manager of the cluster: services are declared there, the release gate runs there. */
    manager: pulumi.Input<string>;
    stack: string;
    app: AppSettings;
    roles: RoleSettings[];
    swarm: SwarmSettings;
    /** The release's image by digest, in the registry every node pulls from. */
    image: pulumi.Input<string>;
    /** The same image once it is on the manager's engine (what the release gate runs). */
    imageOnManager: pulumi.Input<string>;
    version: pulumi.Input<string>;
    pullLogin?: pulumi.Input<RegistryLogin>;
    /** The stack's overlay network. */
    network: pulumi.Input<string>;
    serviceEnv: pulumi.Input<Record<string, string>>;
    /** The web service starts after these (the services it needs). */
    dependsOn: pulumi.Resource[];
    logRotation: LogRotation;
    /** berth's proxy image (pushed), run on every node on hostPort; absent: the app is not published. */
    proxyImage?: pulumi.Input<string>;
}

/**
 * How long Swarm watches each updated task: past the time its healthcheck needs to call it unhealthy (start period,
 * then `retries` failures `interval` apart), so a task that never gets healthy fails the update inside it.
 */
export function monitorWindow(configured: number, healthcheck: HealthcheckSettings | undefined, fallback = 30): number {
    if (configured > 0) return configured;
    return healthcheck ? healthcheck.startPeriodSeconds + healthcheck.retries * (healthcheck.intervalSeconds + healthcheck.timeoutSeconds) + 5 : fallback;
}

/**
 * Tasks a rolling update replaces at once: a third of them (at least one). Start-first keeps every old task serving
 * until its successor is healthy, so a batch costs no capacity, and a failing release stops after its first batch.
 */
export function updateBatch(replicas: number): number {
    return Math.max(1, Math.ceil(replicas / 3));
}

/**
 * The proxy's site on a swarm: the app's tasks, asked of Swarm's DNS (`tasks.<service>`) at most a second ago, so
 * tasks that start, move or stop are followed without a reload; a task that refuses a connection is skipped.
 */
export function swarmProxyConf(service: string, port: number, edge: Pick<EdgeSettings, "maxBodySize">): string {
    return `location / {
    resolver 127.0.0.11 valid=1s ipv6=off;
    resolver_timeout 2s;
    set $berth_app tasks.${service};
    proxy_pass http://$berth_app:${port};
    include /etc/nginx/forwarding.conf;
    client_max_body_size ${edge.maxBodySize};
}
`;
}

/** Where a node's own processes (its front door) reach the proxy task published on the node's hostPort. */
export const SWARM_PROXY_FROM_HOST = "127.0.0.1";

/** Writes the site from BERTH_APP_CONF, then runs nginx as the image does. */
const PROXY_COMMAND = ["/bin/sh", "-c", 'printf "%s" "$BERTH_APP_CONF" >/etc/nginx/app.conf && exec berth-proxy-start'];

/**
 * The app on a swarm: web as a replicated service (rolling start-first updates gated by its healthcheck, rolled back
 * by Swarm when one fails), each role as a service of its own, and berth's proxy as a global service on hostPort.
 * The credentials in their environment are one Swarm secret, loaded into each task's environment: none is in any spec.
 */
export class SwarmApp extends pulumi.ComponentResource {
    readonly serviceName: pulumi.Output<string>;
    /** The image the web service runs, as Swarm reports it. */
    readonly runningImage: pulumi.Output<string>;
    /** Each role's service. */
    readonly roleServices: Record<string, pulumi.Output<string>>;
    readonly releaseOutput?: pulumi.Output<string>;
    /** What must be done before this release counts as in place. */
    readonly deployed: pulumi.Resource[];

    constructor(name: string, args: SwarmAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:swarm:SwarmApp", name, {}, opts);
        const { app, swarm } = args;
        const env = appEnvironment(app, args.serviceEnv);
        // Credentials (the services' settings, berth:secretEnv) in the secret; the rest in the spec, where healthchecks see it too.
        const plainEnv = { PORT: String(app.containerPort), ...app.env };
        const credentials = env.apply((all) => Object.fromEntries(Object.entries(all).filter(([name]) => !(name in plainEnv))));
        const release = releaseSteps(name, this, {
            host: args.manager, stack: args.stack, app, image: args.imageOnManager, network: args.network, env, logRotation: args.logRotation, after: args.dependsOn,
        });
        this.releaseOutput = release.output;
        const envSecret = new SwarmSecret(`${name}-env`, {
            host: args.manager,
            namePrefix: dockerName(args.stack, app.name, "env"),
            content: credentials.apply(environmentFile),
            labels: berthLabels(args.stack, "app-env", { [LABEL.app]: app.name }),
        }, { parent: this });
        const logOptions = effectiveLogOptions({ logDriver: app.logDriver, logOptions: app.logOptions, logRotation: args.logRotation }, "json-file");
        const common = {
            host: args.manager,
            image: args.image,
            envSecret: envSecret.name,
            plainEnv,
            network: args.network,
            mode: "replicated" as const,
            endpointMode: swarm.endpointMode,
            ports: [],
            mounts: [],
            constraints: [],
            logDriver: app.logDriver,
            logOptions,
            registry: args.pullLogin,
        };
        /** A process of the app as a Swarm service: rolling start-first updates, a third at a time, each watched. */
        const service = (process: AppProcess, opts: pulumi.CustomResourceOptions) => {
            const monitorSeconds = monitorWindow(swarm.monitorSeconds, process.healthcheck, process.upSeconds);
            return new SwarmService(`${name}-${process.process ? `role-${process.process}` : "web"}`, {
                ...common,
                name: dockerName(args.stack, ...process.nameParts),
                command: process.command,
                ...(process.init ? { init: true, plainEnv: { ...plainEnv, ...process.env } } : {}),
                labels: processLabels(args.stack, app, process, args.version),
                aliases: [process.alias],
                replicas: process.replicas,
                restart: process.restart,
                memoryBytes: process.memoryBytes,
                cpus: process.cpus,
                healthcheck: process.healthcheck,
                // Web must have a healthcheck; a role has its own or none (the image's is web's): then staying up the monitor window is the test.
                ...(process.listenPort !== undefined ? { requireHealthcheck: true } : { noHealthcheck: process.healthcheck === undefined }),
                stopTimeoutSeconds: process.stopTimeoutSeconds,
                updateOrder: "start-first",
                updateParallelism: updateBatch(process.replicas),
                monitorSeconds,
                convergeTimeoutSeconds: process.replicas * (process.healthTimeoutSeconds + monitorSeconds) + 60,
            }, { parent: this, ...opts });
        };
        const web = service(webProcess(app), { dependsOn: [...args.dependsOn, ...release.steps] });
        const roles = args.roles.map((role) => [role.name, service(processOfRole(app, role), { dependsOn: [web] })] as const);
        const proxy = args.proxyImage ? new SwarmService(`${name}-proxy`, {
            ...common,
            name: dockerName(args.stack, "proxy"),
            image: args.proxyImage,
            command: PROXY_COMMAND,
            envSecret: "",
            plainEnv: {
                BERTH_APP_CONF: swarmProxyConf(dockerName(args.stack, app.name), app.containerPort, app.edge),
                // Behind the nodes' front doors (berth:domains): the scheme they forward reaches the app.
                ...(app.ingress ? { BERTH_TRUST_GATEWAY: "1" } : {}),
            },
            labels: berthLabels(args.stack, "proxy"),
            aliases: ["proxy"],
            mode: "global",
            replicas: 0,
            // Each node's proxy owns its host port: the old one must let go of it before the new one starts.
            ports: [{ target: 80, published: app.hostPort }],
            restart: "unless-stopped",
            memoryBytes: PROXY_MEMORY_BYTES,
            cpus: 0,
            stopTimeoutSeconds: PROXY_STOP_SECONDS,
            updateOrder: "stop-first",
            monitorSeconds: 10,
            convergeTimeoutSeconds: 180,
            logDriver: "",
            logOptions: effectiveLogOptions({ logDriver: "", logOptions: {}, logRotation: args.logRotation }, "json-file"),
        }, { parent: this, dependsOn: [web] }) : undefined;
        this.serviceName = web.name;
        this.runningImage = web.runningImage;
        this.roleServices = Object.fromEntries(roles.map(([role, service]) => [role, service.name]));
        this.deployed = [web, ...roles.map(([, service]) => service), ...(proxy ? [proxy] : [])];
        this.registerOutputs({ serviceName: this.serviceName, runningImage: this.runningImage });
    }
}
