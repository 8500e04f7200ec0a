import * as pulumi from "@pulumi/pulumi";
import { DockerContainer } from "./docker/container";
import { berthLabels, dockerName } from "./naming";

export interface AppServiceArgs {
    dockerHost: string;
    stack: string;
    app: string;
    /** Image by digest (`repo@sha256:…`), so replicas are replaced exactly when the image changes. */
    image: pulumi.Input<string>;
    version: string;
    replicas: number;
    network: pulumi.Input<string>;
    env: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Published on 127.0.0.1 (0: not published). */
    hostPort: number;
    containerPort: number;
    restart: string;
    memoryBytes: number;
    cpus: number;
    /** Replicas start only after these are created, and dependency containers are created only once healthy. */
    dependsOn: pulumi.Resource[];
}

/** N replicas of the app image on the stack network, each created only once its healthcheck passes. */
export class AppService extends pulumi.ComponentResource {
    readonly containerNames: pulumi.Output<string[]>;
    readonly url: string | undefined;

    constructor(name: string, args: AppServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:service:AppService", name, {}, opts);
        const publishes = args.hostPort > 0;
        const replicas = Array.from({ length: args.replicas }, (_, i) => new DockerContainer(`${name}-${i + 1}`, {
            host: args.dockerHost,
            namePrefix: dockerName(args.stack, args.app),
            image: args.image,
            command: [],
            env: pulumi.output(args.env).apply((env) => ({ PORT: String(args.containerPort), APP_VERSION: args.version, ...env })),
            labels: berthLabels(args.stack, "app", { "berth.app": args.app, "berth.version": args.version }),
            networks: pulumi.output(args.network).apply((network) => [{ name: network, aliases: [args.app] }]),
            ports: publishes ? [{ internal: args.containerPort, external: args.hostPort, ip: "127.0.0.1", protocol: "tcp" }] : [],
            volumes: [],
            restart: args.restart,
            memoryBytes: args.memoryBytes,
            cpus: args.cpus,
            stopTimeoutSeconds: 20,
            logDriver: "",
            logOptions: {},
            healthyTimeoutSeconds: 120,
        }, {
            parent: this,
            dependsOn: args.dependsOn,
            // A published host port can be bound by one container at a time.
            deleteBeforeReplace: publishes,
        }));
        this.containerNames = pulumi.all(replicas.map((r) => r.name));
        this.url = publishes ? `http://127.0.0.1:${args.hostPort}` : undefined;
        this.registerOutputs({ containerNames: this.containerNames, url: this.url });
    }
}
