import * as pulumi from "@pulumi/pulumi";
import { DataVolume } from "./dataVolume";
import { DockerContainer } from "./docker/container";
import type { Healthcheck } from "./docker/providers/container";
import { berthLabels, dockerName } from "./naming";

export type ServiceKind = "redis" | "postgres";

export interface DependencyServiceArgs {
    dockerHost: string;
    stack: string;
    kind: ServiceKind;
    image: string;
    network: pulumi.Input<string>;
    ephemeral: boolean;
    /** Required for postgres. */
    password?: pulumi.Input<string>;
}

interface Preset {
    port: number;
    dataPath: string;
    healthcheck: Healthcheck;
    env(password: string): Record<string, string>;
    url(alias: string, password: string): string;
}

const probe = { intervalSeconds: 2, timeoutSeconds: 3, retries: 15, startPeriodSeconds: 5 };

/** What each official image expects; berth's Debian-built stand-ins honour the same contract. */
export const presets: Record<ServiceKind, Preset> = {
    redis: {
        port: 6379,
        dataPath: "/data",
        healthcheck: { command: "redis-cli ping | grep -q PONG", ...probe },
        env: () => ({}),
        url: (alias) => `redis://${alias}:6379`,
    },
    postgres: {
        port: 5432,
        dataPath: "/var/lib/postgresql/data",
        healthcheck: { command: 'pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"', ...probe },
        env: (password) => ({ POSTGRES_USER: "app", POSTGRES_DB: "app", POSTGRES_PASSWORD: password }),
        url: (alias, password) => `postgres://app:${encodeURIComponent(password)}@${alias}:5432/app`,
    },
};

/** A dependency (Redis, Postgres) in its own container on the stack network, its data in a DataVolume. */
export class DependencyService extends pulumi.ComponentResource {
    /** Stable DNS name on the stack network. */
    readonly alias: string;
    readonly port: number;
    /** Connection URL for the app; secret when it embeds a password. */
    readonly url: pulumi.Output<string>;
    readonly containerName: pulumi.Output<string>;

    constructor(name: string, args: DependencyServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:service:DependencyService", name, {}, opts);
        const preset = presets[args.kind];
        if (args.kind === "postgres" && args.password === undefined) {
            throw new Error(`${name}: postgres needs a password`);
        }
        const password = pulumi.output(args.password ?? "");
        this.alias = args.kind;
        this.port = preset.port;
        const data = new DataVolume(`${name}-data`, {
            dockerHost: args.dockerHost,
            stack: args.stack,
            purpose: args.kind,
            ephemeral: args.ephemeral,
        }, { parent: this });
        const container = new DockerContainer(`${name}-container`, {
            host: args.dockerHost,
            namePrefix: dockerName(args.stack, args.kind),
            image: args.image,
            command: [],
            env: password.apply((p) => preset.env(p)),
            labels: berthLabels(args.stack, "dependency", { "berth.service": args.kind }),
            networks: pulumi.output(args.network).apply((network) => [{ name: network, aliases: [this.alias] }]),
            ports: [],
            volumes: data.name.apply((volume) => [{ source: volume, target: preset.dataPath, readOnly: false }]),
            restart: "unless-stopped",
            memoryBytes: 0,
            cpus: 0,
            healthcheck: preset.healthcheck,
            stopTimeoutSeconds: 30,
            logDriver: "",
            logOptions: {},
            healthyTimeoutSeconds: 120,
        }, {
            parent: this,
            // Two servers must never share one data directory, not even for a moment.
            deleteBeforeReplace: true,
        });
        this.containerName = container.name;
        this.url = args.password === undefined
            ? pulumi.output(preset.url(this.alias, ""))
            : pulumi.secret(password.apply((p) => preset.url(this.alias, p)));
        this.registerOutputs({ alias: this.alias, url: this.url, containerName: this.containerName });
    }
}
