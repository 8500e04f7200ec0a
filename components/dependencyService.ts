import * as pulumi from "@pulumi/pulumi";
import { HealthcheckSettings, LogRotation, ServiceKind, ServiceSettings } from "./config";
import { DataVolume } from "./dataVolume";
import { DockerContainer } from "./docker/container";
import { berthLabels, dockerName } from "./naming";

export interface DependencyServiceArgs {
    dockerHost: string;
    stack: string;
    service: ServiceSettings;
    network: pulumi.Input<string>;
    ephemeral: boolean;
    /** For postgres, mysql and rabbitmq (required there). */
    password?: pulumi.Input<string>;
    logRotation: LogRotation;
}

interface Preset {
    image: string;
    port: number;
    dataPath: string;
    user: string;
    scheme: string;
    /** Path part of the URL (the database or vhost). */
    path: string;
    healthcheck: HealthcheckSettings;
    /** Memory limit of its container unless the service sets `memory`. */
    memoryBytes: number;
    env(password: string): Record<string, string>;
}

const MB = 1024 ** 2;

const probe = { intervalSeconds: 2, timeoutSeconds: 5, retries: 30, startPeriodSeconds: 5 };

/** What each official image expects; berth's Debian-built stand-ins (images/) honour the same contracts. */
export const presets: Record<Exclude<ServiceKind, "custom">, Preset> = {
    redis: {
        image: "redis:7", port: 6379, dataPath: "/data", user: "", scheme: "redis", path: "",
        healthcheck: { command: "redis-cli ping | grep -q PONG", ...probe },
        memoryBytes: 256 * MB,
        env: () => ({}),
    },
    postgres: {
        image: "postgres:15", port: 5432, dataPath: "/var/lib/postgresql/data", user: "app", scheme: "postgres", path: "/app",
        healthcheck: { command: 'pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"', ...probe },
        memoryBytes: 512 * MB,
        env: (password) => ({ POSTGRES_USER: "app", POSTGRES_DB: "app", POSTGRES_PASSWORD: password }),
    },
    mysql: {
        image: "mysql:8", port: 3306, dataPath: "/var/lib/mysql", user: "app", scheme: "mysql", path: "/app",
        // A real login, not `mysqladmin ping` (which succeeds with any password once the port is open).
        healthcheck: { command: 'mysql -h 127.0.0.1 -u"$MYSQL_USER" -p"$MYSQL_PASSWORD" -e "SELECT 1" "$MYSQL_DATABASE" >/dev/null', ...probe },
        memoryBytes: 512 * MB,
        env: (password) => ({ MYSQL_ROOT_PASSWORD: password, MYSQL_DATABASE: "app", MYSQL_USER: "app", MYSQL_PASSWORD: password }),
    },
    rabbitmq: {
        image: "rabbitmq:3", port: 5672, dataPath: "/var/lib/rabbitmq", user: "app", scheme: "amqp", path: "/",
        // `ping` answers before the AMQP listener is up; port connectivity is what clients need.
        healthcheck: { command: "rabbitmq-diagnostics -q check_port_connectivity", ...probe, timeoutSeconds: 10, startPeriodSeconds: 20 },
        memoryBytes: 512 * MB,
        env: (password) => ({ RABBITMQ_DEFAULT_USER: "app", RABBITMQ_DEFAULT_PASS: password }),
    },
};

/** The preset a service starts from; a custom service brings its own port, data path and healthcheck. */
export function presetFor(service: ServiceSettings): Preset {
    if (service.kind !== "custom") return presets[service.kind];
    return {
        image: service.image, port: service.port, dataPath: service.dataPath, user: "", scheme: "tcp", path: "",
        healthcheck: service.healthcheck ?? { command: "true", ...probe },
        memoryBytes: 512 * MB,
        env: () => ({}),
    };
}

export function connectionUrl(preset: Preset, host: string, password: string): string {
    const auth = preset.user ? `${preset.user}:${encodeURIComponent(password)}@` : "";
    return `${preset.scheme}://${auth}${host}:${preset.port}${preset.path}`;
}

/**
 * A dependency (Redis, Postgres, MySQL, RabbitMQ or any image) in its own container on the stack network,
 * reachable by its service name, with its data in a DataVolume; exposes its connection settings.
 */
export class DependencyService extends pulumi.ComponentResource {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password: pulumi.Output<string>;
    /** Secret whenever it embeds a password. */
    readonly url: pulumi.Output<string>;
    readonly containerName: pulumi.Output<string>;

    constructor(name: string, args: DependencyServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:service:DependencyService", name, {}, opts);
        const { service } = args;
        const preset = presetFor(service);
        const password = pulumi.secret(pulumi.output(args.password ?? ""));
        this.host = service.name;
        this.port = preset.port;
        this.user = preset.user;
        this.password = password;
        const data = new DataVolume(`${name}-data`, {
            dockerHost: args.dockerHost,
            stack: args.stack,
            purpose: service.name,
            ephemeral: args.ephemeral,
        }, { parent: this });
        const container = new DockerContainer(`${name}-container`, {
            host: args.dockerHost,
            namePrefix: dockerName(args.stack, service.name),
            image: service.image || preset.image,
            command: [],
            env: password.apply((p) => ({ ...preset.env(p), ...service.env })),
            labels: berthLabels(args.stack, "dependency", { "berth.service": service.name }),
            networks: pulumi.output(args.network).apply((network) => [{ name: network, aliases: [this.host] }]),
            ports: service.hostPort > 0 ? [{ internal: preset.port, external: service.hostPort, ip: "127.0.0.1", protocol: "tcp" }] : [],
            volumes: data.name.apply((volume) => [{ source: volume, target: preset.dataPath, readOnly: false }]),
            restart: "unless-stopped",
            memoryBytes: service.memoryBytes ?? preset.memoryBytes,
            cpus: 0,
            healthcheck: service.healthcheck ?? preset.healthcheck,
            stopTimeoutSeconds: 30,
            logDriver: "",
            logOptions: {},
            logRotation: args.logRotation,
            healthyTimeoutSeconds: 180,
        }, {
            parent: this,
            // Two servers must never share one data directory, not even for a moment.
            deleteBeforeReplace: true,
        });
        this.containerName = container.name;
        this.url = preset.user ? pulumi.secret(password.apply((p) => connectionUrl(preset, this.host, p))) : pulumi.output(connectionUrl(preset, this.host, ""));
        this.registerOutputs({ host: this.host, port: this.port, url: this.url, containerName: this.containerName });
    }

    /** `<NAME>_URL`, `_HOST`, `_PORT` (and `_USER`, `_PASSWORD` where there is one) for the app's environment. */
    connectionEnv(): pulumi.Output<Record<string, string>> {
        const prefix = this.host.toUpperCase().replace(/-/g, "_");
        return pulumi.all([this.url, this.password]).apply(([url, password]) => ({
            [`${prefix}_URL`]: url,
            [`${prefix}_HOST`]: this.host,
            [`${prefix}_PORT`]: String(this.port),
            ...(this.user ? { [`${prefix}_USER`]: this.user, [`${prefix}_PASSWORD`]: password } : {}),
        }));
    }
}
