import * as pulumi from "@pulumi/pulumi";
import { HealthcheckSettings, LogRotation, ServiceSettings } from "./config";
import { DataVolume } from "./dataVolume";
import { DockerContainer } from "./docker/container";
import { effectiveLogOptions, VolumeMount } from "./docker/commands/container";
import { environmentFile } from "./docker/providers/swarmService";
import { SwarmSecret } from "./docker/swarmSecret";
import { SwarmService } from "./docker/swarmService";
import type { RegistryLogin } from "./docker/providers/image";
import { berthLabels, dockerName, LABEL } from "./naming";
import { connectionUrl, Preset, presetFor, serviceHealthcheck } from "./serviceKinds";
import { servicePortEnv } from "./webProxy";

/** nginx passing TCP connections needs little. */
const SERVICE_PORT_MEMORY_BYTES = 64 * 1024 ** 2;
/** How long a stopping service may take to shut down cleanly (a database flushing), on hosts and on a swarm. */
const SERVICE_STOP_SECONDS = 30;

export interface DependencyServiceArgs {
    /** The engine that runs it and keeps its data. */
    host: string;
    stack: string;
    service: ServiceSettings;
    network: pulumi.Input<string>;
    ephemeral: boolean;
    /** For postgres, mysql and rabbitmq (required there); for redis when other hosts reach it. */
    password?: pulumi.Input<string>;
    logRotation: LogRotation;
    /**
     * The host's private address (an IP), where apps on the stack's other hosts reach it: published there only,
     * never on a wildcard address. Absent for single-host stacks.
     */
    privateAddress?: pulumi.Input<string>;
    /** Login that pulls its image from berth's registry on an engine that lacks it. */
    pullLogin?: pulumi.Input<RegistryLogin>;
    /** With privateAddress: berth's proxy image (proxyImage), which listens there for the service, and its pull login. */
    portImage?: { image: pulumi.Input<string>; pullLogin?: pulumi.Input<RegistryLogin> };
    /** On a swarm: a one-replica service declared on `manager`, pinned to the node (host) that holds its volume. */
    swarm?: { manager: pulumi.Input<string>; nodeId: pulumi.Input<string> };
}


interface SwarmServiceArgs {
    manager: pulumi.Input<string>;
    nodeId: pulumi.Input<string>;
    /** The node's engine, where the volume is. */
    node: string;
    stack: string;
    service: ServiceSettings;
    image: string;
    env: pulumi.Output<Record<string, string>>;
    labels: Record<string, string>;
    network: pulumi.Input<string>;
    mounts: pulumi.Input<VolumeMount[]>;
    healthcheck: HealthcheckSettings;
    memoryBytes: number;
    logRotation: LogRotation;
    pullLogin?: pulumi.Input<RegistryLogin>;
}

/**
 * A service on a swarm: one replica pinned to the node that holds its data volume, replaced stop-first (never two
 * servers on one data directory), its settings and password in a Swarm secret.
 */
function swarmService(name: string, parent: pulumi.Resource, args: SwarmServiceArgs): SwarmService {
    const envSecret = new SwarmSecret(`${name}-env`, {
        host: args.manager,
        namePrefix: dockerName(args.stack, args.service.name, "env"),
        content: args.env.apply(environmentFile),
        labels: args.labels,
    }, { parent });
    return new SwarmService(name, {
        host: args.manager,
        name: dockerName(args.stack, args.service.name),
        image: args.image,
        command: [],
        envSecret: envSecret.name,
        plainEnv: {},
        labels: args.labels,
        network: args.network,
        aliases: [args.service.name],
        mode: "replicated",
        replicas: 1,
        endpointMode: "dnsrr",
        ports: [],
        mounts: args.mounts,
        volumeHost: args.node,
        constraints: pulumi.output(args.nodeId).apply((id) => [`node.id==${id}`]),
        restart: "unless-stopped",
        memoryBytes: args.memoryBytes,
        cpus: 0,
        healthcheck: args.healthcheck,
        stopTimeoutSeconds: SERVICE_STOP_SECONDS,
        updateOrder: "stop-first",
        monitorSeconds: 5,
        convergeTimeoutSeconds: 180,
        logDriver: "",
        logOptions: effectiveLogOptions({ logDriver: "", logOptions: {}, logRotation: args.logRotation }, "json-file"),
        registry: args.pullLogin,
    }, { parent, deleteBeforeReplace: true });
}

interface ServicePortArgs {
    host: string;
    stack: string;
    service: string;
    image: NonNullable<DependencyServiceArgs["portImage"]>;
    /** The host's private address and the port the stack's other hosts connect to there. */
    listen: pulumi.Input<string>;
    port: number;
    /** The service container's address on the stack network, and its port. */
    target: pulumi.Input<string>;
    targetPort: number;
    logRotation: LogRotation;
}

/**
 * A service's port for the stack's other hosts: berth's proxy image in forward mode on the host's network, listening
 * on the private address itself and passing connections to the service's container. Docker's port publishing would
 * go through NAT rules that a starting engine deletes and rebuilds, refusing connections meanwhile (measured: 61
 * of 17,154 over a test host's restart; through this, 0 of 15,624). Replaced beside the old one (reuseport) when the
 * service moves to a new address.
 */
function servicePort(name: string, parent: pulumi.Resource, args: ServicePortArgs): DockerContainer {
    return new DockerContainer(name, {
        host: args.host,
        namePrefix: dockerName(args.stack, args.service, "port"),
        image: args.image.image,
        command: [],
        env: pulumi.all([args.listen, args.target]).apply(([listen, target]) => servicePortEnv(listen, args.port, target, args.targetPort)),
        labels: berthLabels(args.stack, "port"),
        networks: [{ name: "host", aliases: [] }],
        ports: [],
        volumes: [],
        restart: "unless-stopped",
        memoryBytes: SERVICE_PORT_MEMORY_BYTES,
        cpus: 0,
        // nginx exits at once when it cannot listen: staying up is its health (a probe through it would reach the service).
        noHealthcheck: true,
        upSeconds: 2,
        stopTimeoutSeconds: 10,
        logDriver: "",
        logOptions: {},
        logRotation: args.logRotation,
        healthTimeoutSeconds: 30,
        registry: args.image.pullLogin,
    }, { parent });
}

/**
 * A dependency (Redis, Postgres, MySQL, RabbitMQ or any image) in its own container on the stack network,
 * reachable by its service name, with its data in a DataVolume; exposes its connection settings.
 */
export class DependencyService extends pulumi.ComponentResource {
    /** Its name on the stack network of its own host. */
    readonly alias: string;
    readonly port: number;
    readonly user: string;
    readonly password: pulumi.Output<string>;
    readonly containerName: pulumi.Output<string>;
    /** Its data volume's name. */
    readonly dataVolume: pulumi.Output<string>;
    /** The host (engine address) it runs on. */
    readonly host: string;
    /** The image it runs, and the login that pulls it (from berth's registry). */
    readonly image: string;
    readonly pullLogin?: pulumi.Input<RegistryLogin>;
    private readonly preset: Preset;
    private readonly privateAddress?: pulumi.Output<string>;
    /** Where other hosts reach it: the service's hostPort if set, else its own port, on the private address. */
    private readonly publishedPort: number;

    constructor(name: string, args: DependencyServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:service:DependencyService", name, {}, opts);
        const { service } = args;
        const preset = presetFor(service);
        const password = pulumi.secret(pulumi.output(args.password ?? ""));
        this.alias = service.name;
        this.port = preset.port;
        this.user = preset.user;
        this.password = password;
        this.host = args.host;
        this.image = service.image || preset.image;
        this.pullLogin = args.pullLogin;
        this.preset = preset;
        this.publishedPort = service.hostPort > 0 ? service.hostPort : preset.port;
        this.privateAddress = args.privateAddress === undefined ? undefined : pulumi.output(args.privateAddress);
        if (this.privateAddress && preset.password === "never") {
            // berth's presets require a password once other hosts reach them; an arbitrary image has no such setting.
            pulumi.log.warn(`services.${service.name} is published on ${args.host}'s private address (port ${this.publishedPort}) for the app on the stack's other hosts, `
                + "and berth cannot give a custom service a password: make sure the image requires its own credentials (through services." + service.name + ".env), or firewall the port to the stack's hosts.", this);
        }
        const data = new DataVolume(`${name}-data`, {
            host: args.host,
            stack: args.stack,
            purpose: service.name,
            ephemeral: args.ephemeral,
        }, { parent: this });
        this.dataVolume = data.name;
        const env = password.apply((p) => ({ ...preset.env(p), ...service.env }));
        const labels = berthLabels(args.stack, "dependency", { [LABEL.service]: service.name });
        const healthcheck = service.healthcheck ?? serviceHealthcheck(preset, service.kind, args.password !== undefined);
        const memoryBytes = service.memoryBytes ?? preset.memoryBytes;
        const mounts = data.name.apply((volume) => [{ source: volume, target: preset.dataPath, readOnly: false }]);
        const container = args.swarm ? swarmService(`${name}-service`, this, {
            manager: args.swarm.manager, nodeId: args.swarm.nodeId, node: args.host, stack: args.stack, service, image: this.image, env, labels,
            network: args.network, mounts, healthcheck, memoryBytes, logRotation: args.logRotation, pullLogin: args.pullLogin,
        }) : new DockerContainer(`${name}-container`, {
            host: args.host,
            namePrefix: dockerName(args.stack, service.name),
            image: this.image,
            command: [],
            env,
            labels,
            networks: pulumi.output(args.network).apply((network) => [{ name: network, aliases: [this.alias] }]),
            // The stack's other hosts reach it through its port container (servicePort); hostPort alone is for tools here.
            ports: !this.privateAddress && service.hostPort > 0 ? [{ internal: preset.port, external: service.hostPort, ip: "127.0.0.1", protocol: "tcp" }] : [],
            volumes: mounts,
            restart: "unless-stopped",
            memoryBytes,
            cpus: 0,
            healthcheck,
            stopTimeoutSeconds: SERVICE_STOP_SECONDS,
            logDriver: "",
            logOptions: {},
            logRotation: args.logRotation,
            healthTimeoutSeconds: 180,
            registry: args.pullLogin,
        }, {
            parent: this,
            // Two servers must never share one data directory, not even for a moment.
            deleteBeforeReplace: true,
        });
        if (this.privateAddress && container instanceof DockerContainer) {
            if (!args.portImage) throw new Error(`services.${service.name}: a service reached from other hosts needs berth's proxy image for its port`);
            servicePort(`${name}-port`, this, {
                host: args.host, stack: args.stack, service: service.name, image: args.portImage,
                listen: this.privateAddress, port: this.publishedPort, target: container.address, targetPort: preset.port, logRotation: args.logRotation,
            });
        }
        // On a swarm: the service's name.
        this.containerName = container.name;
        this.registerOutputs({ alias: this.alias, port: this.port, containerName: this.containerName });
    }

    /** Where an app on host `from` connects: by alias on its own host, else at the private address. */
    private endpoint(from: string): pulumi.Output<{ host: string; port: number }> {
        return from === this.host || !this.privateAddress
            ? pulumi.output({ host: this.alias, port: this.port })
            : this.privateAddress.apply((host) => ({ host, port: this.publishedPort }));
    }

    /** Its URL as an app on host `from` uses it; secret whenever it embeds a password. */
    url(from: string): pulumi.Output<string> {
        return pulumi.secret(pulumi.all([this.endpoint(from), this.password]).apply(([{ host, port }, password]) =>
            connectionUrl(this.preset, host, password, port)));
    }

    /**
     * `<NAME>_URL`, `_HOST`, `_PORT` (and `_USER`, `_PASSWORD` where there is one) for the environment of an app
     * on host `from`.
     */
    connectionEnv(from: string): pulumi.Output<Record<string, string>> {
        const prefix = this.alias.toUpperCase().replace(/-/g, "_");
        return pulumi.all([this.url(from), this.endpoint(from), this.password]).apply(([url, { host, port }, password]) => ({
            [`${prefix}_URL`]: url,
            [`${prefix}_HOST`]: host,
            [`${prefix}_PORT`]: String(port),
            ...(this.user ? { [`${prefix}_USER`]: this.user } : {}),
            ...(password ? { [`${prefix}_PASSWORD`]: password } : {}),
        }));
    }
}
