import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { EdgeSettings, hostUrl, LogRotation, loopbackFor, socketAddress } from "./config";
import { contextHash } from "./contextHash";
import { DockerContainer } from "./docker/container";
import { DockerImage } from "./docker/image";
import { ImageRegistry, registryPrefix } from "./imageReference";
import type { RegistryLogin } from "./docker/providers/image";
import { ProxyRoutes } from "./docker/proxyRoutes";
import { ProxySite } from "./docker/proxySite";
import { berthLabels, dockerName } from "./naming";

export interface WebProxyArgs {
    host: string;
    stack: string;
    /** berth's proxy image (see proxyImage). */
    image: pulumi.Input<string>;
    /** Login that pulls the image on an engine that lacks it. */
    pullLogin?: pulumi.Input<RegistryLogin>;
    /** Where nginx listens, on the Docker host's bindAddress. */
    hostPort: number;
    bindAddress: string;
    /** `address:port` of the replicas to send traffic to. */
    upstreams: pulumi.Input<string[]>;
    /** How long a change of upstreams waits for connections accepted before it to finish: the replicas' stop grace. */
    drainSeconds: number;
    /** HTTPS (published on edge.httpsPort), request-body limit, client keep-alive. */
    edge: EdgeSettings;
    /** The stack's certificate and key (PEM), with HTTPS. */
    tls?: pulumi.Input<{ certificate: string; privateKey: string }>;
    /** Requests come through the host's front door (berth:domains), which says which scheme the client used. */
    behindFrontDoor?: boolean;
    logRotation: LogRotation;
}

/**
 * Where the proxy's nginx listens, in its container's environment (read by the image's start script, health check
 * and berth's read-backs): nginx's `listen` addresses, and BERTH_PROBE, the address and port as bash's
 * /dev/tcp/ADDRESS/PORT takes them (a wildcard address probed on loopback).
 */
export function proxyListenEnv(bindAddress: string, httpPort: number, httpsPort: number): Record<string, string> {
    return {
        BERTH_LISTEN: socketAddress(bindAddress, httpPort),
        ...(httpsPort > 0 ? { BERTH_LISTEN_HTTPS: socketAddress(bindAddress, httpsPort) } : {}),
        BERTH_PROBE: `${loopbackFor(bindAddress)}/${httpPort}`,
    };
}

/**
 * The environment of a service's port (the image's forward mode, start.sh): listen on the host's private address
 * and port, pass each connection to the service's container at its address on the stack network.
 */
export function servicePortEnv(listenAddress: string, listenPort: number, serviceAddress: string, servicePort: number): Record<string, string> {
    return { BERTH_FORWARD: `${socketAddress(listenAddress, listenPort)} ${socketAddress(serviceAddress, servicePort)}` };
}

/** nginx with a few thousand connections needs little; the limit keeps a runaway one from taking the host. */
export const PROXY_MEMORY_BYTES = 128 * 1024 ** 2;

/** How long a stopping proxy (SIGQUIT: graceful) may finish its requests, on hosts and on a swarm. */
export const PROXY_STOP_SECONDS = 30;

const PROXY_CONTEXT = path.join(__dirname, "..", "images", "proxy");

export interface BerthImageArgs {
    /** The engine that builds it. */
    buildHost: string;
    /** Pushed to this registry (its server and login), where other engines pull it by digest; absent: it stays on the build engine, which runs it. */
    registry?: ImageRegistry & { login: pulumi.Input<RegistryLogin> };
}

/** One of berth's own images (images/<dir>), built once per stack, tagged by its content; pushed where other machines run it. */
export function berthImage(name: string, context: string, repository: string, args: BerthImageArgs, opts: pulumi.CustomResourceOptions): DockerImage {
    const hash = contextHash(context);
    return new DockerImage(name, {
        host: args.buildHost,
        context,
        dockerfile: "Dockerfile",
        target: "",
        buildArgs: {},
        buildEnvironment: {},
        contextHash: hash,
        labels: {},
        repository: args.registry ? `${registryPrefix(args.registry)}/${repository}` : repository,
        tag: hash.slice(0, 12),
        registry: args.registry?.login,
    }, opts);
}

/** berth's nginx image: the web proxy, and a service's port for other hosts. */
export function proxyImage(name: string, args: BerthImageArgs, opts: pulumi.CustomResourceOptions): DockerImage {
    return berthImage(name, PROXY_CONTEXT, "berth/proxy", args, opts);
}

/**
 * The reverse proxy in front of the app: it owns the public port and outlives every release. Replicas are swapped
 * behind it: new ones are created (and healthy) first, then the proxy reloads onto them, then old ones drain.
 * It runs on the host's network, listening on the port itself, and reaches the replicas by their addresses on the
 * stack network: no NAT rule or docker-proxy process stands between clients and nginx, so a restart of the engine
 * (which rebuilds those, refusing connections meanwhile) drops nothing, loopback included.
 */
export class WebProxy extends pulumi.ComponentResource {
    readonly url: string;
    readonly containerName: pulumi.Output<string>;

    constructor(name: string, args: WebProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:service:WebProxy", name, {}, opts);
        const proxy = new DockerContainer(`${name}-container`, {
            host: args.host,
            namePrefix: dockerName(args.stack, "proxy"),
            image: args.image,
            command: [],
            env: proxyListenEnv(args.bindAddress, args.hostPort, args.edge.httpsPort),
            labels: berthLabels(args.stack, "proxy"),
            networks: [{ name: "host", aliases: [] }],
            ports: [],
            volumes: [],
            restart: "unless-stopped",
            memoryBytes: PROXY_MEMORY_BYTES,
            cpus: 0,
            stopTimeoutSeconds: PROXY_STOP_SECONDS,
            logDriver: "",
            logOptions: {},
            logRotation: args.logRotation,
            healthTimeoutSeconds: 60,
            registry: args.pullLogin,
        }, { parent: this, deleteBeforeReplace: true });
        // Side by side: each writes its own files under the proxy's lock, and neither needs the other's to be served.
        new ProxyRoutes(`${name}-routes`, { host: args.host, proxy: proxy.name, upstreams: args.upstreams, drainSeconds: args.drainSeconds }, { parent: this });
        new ProxySite(`${name}-site`, {
            host: args.host, proxy: proxy.name, edge: args.edge, tls: args.tls,
            // Recorded only behind a front door: stacks without one keep the state they had.
            ...(args.behindFrontDoor ? { frontDoor: loopbackFor(args.bindAddress) } : {}),
        }, { parent: this });
        this.url = args.edge.httpsPort > 0
            ? hostUrl(args.host, args.bindAddress, args.edge.httpsPort).replace(/^http:/, "https:")
            : hostUrl(args.host, args.bindAddress, args.hostPort);
        this.containerName = proxy.name;
        this.registerOutputs({ url: this.url, containerName: this.containerName });
    }
}
