// The parsed shape of a stack's config (berth:* keys), as the components read it.
import type { ImageRegistry } from "../imageReference";
import type { BackupSettings } from "./backups";
import type { ServiceKind } from "../serviceKinds";
import type { CanarySettings } from "../canary";

export type { ServiceKind } from "../serviceKinds";
export { serviceKinds } from "../serviceKinds";

/** Reads one raw config value (a string as Pulumi stores it), or undefined when unset. */
export type ConfigSource = (key: string) => string | undefined;

export interface HealthcheckSettings {
    /** Run by the container's shell; exit 0 means healthy. */
    command: string;
    intervalSeconds: number;
    timeoutSeconds: number;
    retries: number;
    startPeriodSeconds: number;
}

export interface ServiceSettings {
    /** The key in berth:services; also the service's DNS alias on the stack network. */
    name: string;
    kind: ServiceKind;
    /** Empty: the kind's official image. */
    image: string;
    /** Published on 127.0.0.1 of the host when > 0 (for debugging); never needed by the app. */
    hostPort: number;
    /** Extra environment for the service's container. */
    env: Record<string, string>;
    /** custom only: port the service listens on, where its data lives, how to tell it is healthy. */
    port: number;
    dataPath: string;
    healthcheck?: HealthcheckSettings;
    /** Memory limit of its container in bytes (`services.<name>.memory`; default per kind); 0: none. */
    memoryBytes?: number;
    /** The engine (one of berth:hosts) that runs it and holds its data; default the first host. */
    host?: string;
}

/** Rotation of the log files of every container berth runs, where its log driver keeps files (json-file, local). */
export interface LogRotation {
    /** Docker's size notation: a file is rotated past it (`10m`, Kamal's default). */
    maxSize: string;
    /** Files kept per container. */
    maxFiles: number;
}

export type AppSource =
    | { kind: "build"; context: string; dockerfile: string; target: string; buildArgs: Record<string, string> }
    /** Deploy an image that already exists (how production runs exactly what staging tested). */
    | { kind: "image"; reference: string };

/** The proxy's edge: HTTPS with the stack's certificate (secrets berth:tlsCertificate/tlsPrivateKey), limits. */
export interface EdgeSettings {
    /** Host port of HTTPS (on bindAddress); 0: none. With HTTPS, plain HTTP on hostPort redirects to it. */
    httpsPort: number;
    /** Send Strict-Transport-Security (one year) on HTTPS answers. */
    hsts: boolean;
    /** Largest request body the proxy passes on, in nginx's notation (`25m`; `0`: no limit). */
    maxBodySize: string;
    /**
     * Idle client connections kept open this long; 0 (the default): one request per connection. A graceful reload
     * (each release) closes idle keep-alive connections, and a client sending on one at that instant sees a reset
     * unless it retries, as browsers do.
     */
    keepAliveSeconds: number;
}

/** How the front door gets the certificates of a stack's names: from an ACME CA, the stack's own pair, or none (plain HTTP). */
export const TLS_MODES = ["acme", "manual", "off"] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** The stack's names on its hosts' shared front door (berth:domains); absent: the stack serves on its own ports. */
export interface IngressSettings {
    domains: string[];
    /** Only requests under this path are the stack's (`/api`); "": every path. */
    pathPrefix: string;
    tls: TlsMode;
    /** With tls acme: the CA's directory, the account's contact, and PEM roots for a private CA's API ("": the system's). */
    acme: { server: string; email: string; caCertificates: string };
    /** The front door answers 503 with a plain page for the stack's names; app and data untouched. */
    maintenance: boolean;
}

/** A process role besides web (berth:roles): the release's image running another command. */
export interface RoleSettings {
    name: string;
    /** Run by the image's shell, e.g. `node worker.js`. */
    command: string;
    /** The stack's total, spread over its hosts like the web replicas. */
    replicas: number;
    memoryBytes: number;
    cpus: number;
    restart: string;
    /** Absent: the role is gated by staying up upSeconds (the image's HEALTHCHECK is web's). */
    healthcheck?: HealthcheckSettings;
    upSeconds: number;
    stopTimeoutSeconds: number;
}

export interface AppSettings {
    name: string;
    branch: string;
    source: AppSource;
    replicas: number;
    /**
     * With the proxy (the default): the proxy's port, replicas unpublished. Without: replica i (from 0) is published
     * on hostPort+i. 0 publishes nothing.
     */
    hostPort: number;
    /** Host address those ports listen on: 127.0.0.1 keeps them to the host, 0.0.0.0 serves every interface. */
    bindAddress: string;
    /** A berth proxy in front of the replicas gives zero-downtime replacement. */
    proxy: boolean;
    /** What the proxy serves besides plain HTTP on hostPort. */
    edge: EdgeSettings;
    /** Names on the hosts' front door (80/443), in front of the proxy; absent: none. */
    ingress?: IngressSettings;
    containerPort: number;
    restart: string;
    memoryBytes: number;
    cpus: number;
    env: Record<string, string>;
    labels: Record<string, string>;
    logDriver: string;
    logOptions: Record<string, string>;
    /** Absent: the image's own HEALTHCHECK. */
    healthcheck?: HealthcheckSettings;
    /** Services the app needs healthy before it starts; each gets `<NAME>_URL` in the app's environment. */
    dependsOn: string[];
    /** Run inside each new image, with the services, before any replica changes; empty: no gate. */
    testCommand: string;
    /**
     * Run once per release in a one-off container of the new image with the app's environment, after the release
     * gate and before any replica changes (a database migration); empty: none.
     */
    releaseCommand: string;
    releaseCommandTimeoutSeconds: number;
    /** Names of the app's secret variables (`berth:secretEnv`, a secret object); their values stay Pulumi secrets. */
    secretEnvNames: string[];
    /** How long a new replica may take to become healthy before the release fails. */
    healthTimeoutSeconds: number;
    /** Grace period between SIGTERM and SIGKILL when a replica is stopped: in-flight requests finish in it. */
    stopTimeoutSeconds: number;
    /** Previous releases whose images stay on the engine for rollback. */
    keepReleases: number;
    /** berth:canary: a share of requests to the new release first (percent 0: none), and the bounds a watched release keeps. */
    canary: CanarySettings;
    /** berth:watchSeconds: all requests to the new release this long, its old replicas kept, before they are replaced; 0: none. */
    watchSeconds: number;
}

/** How a release moves over the hosts: `batchSize` hosts at a time, `pauseSeconds` between batches. */
export interface RolloutSettings {
    batchSize: number;
    pauseSeconds: number;
}

/** What runs the stack's containers: berth on each host, or Docker Swarm over the hosts as one cluster. */
export type Orchestrator = "hosts" | "swarm";

export interface SwarmSettings {
    /** The first `managers` hosts are managers (the first forms the cluster); the rest are workers. */
    managers: number;
    /** dnsrr: the service name resolves to its tasks (works without IPVS); vip: one virtual IP balanced by IPVS. */
    endpointMode: "dnsrr" | "vip";
    /** How long each updated task is watched for failure; 0: the healthcheck's start period + retries × interval + 5 s. */
    monitorSeconds: number;
    /** Where Swarm takes overlay subnets from (a CIDR): must not hold the hosts' own addresses. */
    addressPool: string;
}

export interface BerthSettings {
    /** Engine addresses the stack runs on (`""`: the local engine); never empty. */
    hosts: string[];
    orchestrator: Orchestrator;
    swarm: SwarmSettings;
    rollout: RolloutSettings;
    logRotation: LogRotation;
    ephemeral: boolean;
    /** Where, when and how long the stack's service data is backed up (berth:backups); absent: not at all. */
    backups?: BackupSettings;
    /** Where images go: the server (what `docker login` takes), a namespace path in it, the login's user and berth:imageName. */
    registry: ImageRegistry & { username: string; imageName: string };
    /** known_hosts lines the stack carries for its ssh:// hosts (checked besides the user's own known_hosts). */
    knownHosts: string[];
    app: AppSettings;
    roles: RoleSettings[];
    services: ServiceSettings[];
}

/** The test hosts `npm run hosts` made on this machine, and the registry they pull from (scripts/hosts.sh). */
export interface TestHosts {
    hosts: string[];
    registry: string;
}
