import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { localUrl, LogRotation } from "./config";
import { contextHash } from "./contextHash";
import { DockerContainer } from "./docker/container";
import { DockerImage } from "./docker/image";
import { ProxyRoutes } from "./docker/proxyRoutes";
import { berthLabels, dockerName } from "./naming";

export interface WebProxyArgs {
    dockerHost: string;
    stack: string;
    network: pulumi.Input<string>;
    /** Published on the Docker host's bindAddress. */
    hostPort: number;
    bindAddress: string;
    /** `address:port` of the replicas to send traffic to. */
    upstreams: pulumi.Input<string[]>;
    logRotation: LogRotation;
}

/** nginx with a few thousand connections needs little; the limit keeps a runaway one from taking the host. */
export const PROXY_MEMORY_BYTES = 128 * 1024 ** 2;

/** berth's nginx image, built on the target engine itself so remote hosts need no registry for it. */
const PROXY_CONTEXT = path.join(__dirname, "..", "images", "proxy");

/**
 * The reverse proxy in front of the app: it owns the public port and outlives every release. Replicas are swapped
 * behind it: new ones are created (and healthy) first, then the proxy reloads onto them, then old ones drain.
 */
export class WebProxy extends pulumi.ComponentResource {
    readonly url: string;
    readonly containerName: pulumi.Output<string>;

    constructor(name: string, args: WebProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:service:WebProxy", name, {}, opts);
        const hash = contextHash(PROXY_CONTEXT);
        const image = new DockerImage(`${name}-image`, {
            host: args.dockerHost,
            context: PROXY_CONTEXT,
            dockerfile: "Dockerfile",
            target: "",
            buildArgs: {},
            buildEnvironment: {},
            contextHash: hash,
            labels: {},
            repository: "berth/proxy",
            tag: hash.slice(0, 12),
        }, { parent: this });
        const proxy = new DockerContainer(`${name}-container`, {
            host: args.dockerHost,
            namePrefix: dockerName(args.stack, "proxy"),
            image: image.imageId,
            command: [],
            env: {},
            labels: berthLabels(args.stack, "proxy"),
            networks: pulumi.output(args.network).apply((network) => [{ name: network, aliases: ["proxy"] }]),
            ports: [{ internal: 80, external: args.hostPort, ip: args.bindAddress, protocol: "tcp" }],
            volumes: [],
            restart: "unless-stopped",
            memoryBytes: PROXY_MEMORY_BYTES,
            cpus: 0,
            stopTimeoutSeconds: 30,
            logDriver: "",
            logOptions: {},
            logRotation: args.logRotation,
            healthyTimeoutSeconds: 60,
        }, { parent: this, deleteBeforeReplace: true });
        new ProxyRoutes(`${name}-routes`, { host: args.dockerHost, proxy: proxy.name, upstreams: args.upstreams }, { parent: this });
        this.url = localUrl(args.bindAddress, args.hostPort);
        this.containerName = proxy.name;
        this.registerOutputs({ url: this.url, containerName: this.containerName });
    }
}
