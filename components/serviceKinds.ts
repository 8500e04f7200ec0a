// Service kinds (berth:services.<name>.kind) and what each one is: its image, port, data path, health check,
// memory, environment, password and URL. The one table every part of berth reads a kind's traits from.
import type { HealthcheckSettings, ServiceSettings } from "./config";

export type ServiceKind = "redis" | "postgres" | "mysql" | "rabbitmq" | "custom";

export const serviceKinds: readonly ServiceKind[] = ["redis", "postgres", "mysql", "rabbitmq", "custom"];

/** A service's kind: its `kind`, or else its name (`postgres: {}` is a postgres). */
export function kindOf(name: string, kind: string | undefined): string {
    return kind ?? name;
}

export interface Preset {
    image: string;
    /** When it gets a password (berth:<name>Password): always, once other hosts reach it over the network, or never. */
    password: "always" | "acrossHosts" | "never";
    /** Speaks SQL: the first such service the app depends on is its DATABASE_URL. */
    sql: boolean;
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

/**
 * The engine's own checks of a running service. Deploys do not wait on them (berth runs the command itself until it
 * passes), so the interval is what steady state can afford: each check is a process started inside the container.
 * Every 2 s, an idle stack with 29 services (50 containers) kept a 2-core host ~75 % busy; every 10 s, ~25 %. A
 * service failing for a minute (6 checks 10 s apart) is unhealthy, and the next `up` repairs it.
 */
const probe = { intervalSeconds: 10, timeoutSeconds: 5, retries: 6, startPeriodSeconds: 5 };

/** What each official image expects; berth's Debian-built stand-ins (images/) honour the same contracts. */
export const presets: Record<Exclude<ServiceKind, "custom">, Preset> = {
    redis: {
        image: "redis:7", password: "acrossHosts", sql: false, port: 6379, dataPath: "/data", user: "", scheme: "redis", path: "",
        healthcheck: { command: "redis-cli ping | grep -q PONG", ...probe },
        memoryBytes: 256 * MB,
        // With a password (once other hosts reach it) the server requires it: berth's image reads REDIS_PASSWORD.
        env: (password): Record<string, string> => (password ? { REDIS_PASSWORD: password } : {}),
    },
    postgres: {
        image: "postgres:15", password: "always", sql: true, port: 5432, dataPath: "/var/lib/postgresql/data", user: "app", scheme: "postgres", path: "/app",
        healthcheck: { command: 'pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"', ...probe },
        memoryBytes: 512 * MB,
        env: (password) => ({ POSTGRES_USER: "app", POSTGRES_DB: "app", POSTGRES_PASSWORD: password }),
    },
    mysql: {
        image: "mysql:8", password: "always", sql: true, port: 3306, dataPath: "/var/lib/mysql", user: "app", scheme: "mysql", path: "/app",
        // A real login, not `mysqladmin ping` (which succeeds with any password once the port is open).
        healthcheck: { command: 'mysql -h 127.0.0.1 -u"$MYSQL_USER" -p"$MYSQL_PASSWORD" -e "SELECT 1" "$MYSQL_DATABASE" >/dev/null', ...probe },
        memoryBytes: 512 * MB,
        env: (password) => ({ MYSQL_ROOT_PASSWORD: password, MYSQL_DATABASE: "app", MYSQL_USER: "app", MYSQL_PASSWORD: password }),
    },
    rabbitmq: {
        image: "rabbitmq:3", password: "always", sql: false, port: 5672, dataPath: "/var/lib/rabbitmq", user: "app", scheme: "amqp", path: "/",
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
        // berth cannot give an arbitrary image a password: it brings its own credentials through env.
        image: service.image, password: "never", sql: false, port: service.port, dataPath: service.dataPath, user: "", scheme: "tcp", path: "",
        healthcheck: service.healthcheck ?? { command: "true", ...probe },
        memoryBytes: 512 * MB,
        env: () => ({}),
    };
}

/** The healthcheck of a service's container: a password-protected Redis is asked with its password. */
export function serviceHealthcheck(preset: Preset, kind: ServiceKind, password: boolean): HealthcheckSettings {
    return kind === "redis" && password ? { ...preset.healthcheck, command: `REDISCLI_AUTH="$REDIS_PASSWORD" ${preset.healthcheck.command}` } : preset.healthcheck;
}

export function connectionUrl(preset: Preset, host: string, password: string, port = preset.port): string {
    const auth = preset.user ? `${preset.user}:${encodeURIComponent(password)}@` : password ? `:${encodeURIComponent(password)}@` : "";
    return `${preset.scheme}://${auth}${host}:${port}${preset.path}`;
}

/** Whether a service of `kind` gets a password (berth:<name>Password) on a stack of `hostCount` hosts. */
export function needsPassword(kind: ServiceKind, hostCount: number): boolean {
    const password = kind === "custom" ? "never" : presets[kind].password;
    return password === "always" || (password === "acrossHosts" && hostCount > 1);
}

/** Whether a service of `kind` speaks SQL. */
export function isSql(kind: ServiceKind): boolean {
    return kind !== "custom" && presets[kind].sql;
}
