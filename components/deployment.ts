// What a stack deploys, whatever runs it: the app's processes (web and each role of berth:roles) with their command,
// limits, health, stop grace and labels, described once from the config; then mapped onto containers per host
// (hostsDeployment.ts) or Swarm services (swarmDeployment.ts), which return the same outputs.
import * as pulumi from "@pulumi/pulumi";
import type { AppImage } from "./appImage";
import type { AppSettings, BerthSettings, HealthcheckSettings, RoleSettings } from "./config";
import type { RegistryLogin } from "./docker/providers/image";
import type { StackNetwork } from "./stackNetwork";
import { berthLabels, LABEL } from "./naming";

/** One process of the app, as every orchestrator runs it. */
export interface AppProcess {
    /** Its containers' (or Swarm service's) name under the stack: [app] for web, [app, role] for a role. */
    nameParts: string[];
    /** berth.role: `app` for web, `worker` for a role (whose name is its berth.process). */
    role: "app" | "worker";
    /** The role's name (berth:roles); absent for web. */
    process?: string;
    /** What the stack network resolves to its containers. */
    alias: string;
    /** Empty: the image's own. */
    command: string[];
    /** Docker's init as PID 1, signalling the process group (a role written as a Procfile line). */
    init: boolean;
    /** What it needs in its environment besides the app's. */
    env: Record<string, string>;
    /** The stack's total. */
    replicas: number;
    restart: string;
    memoryBytes: number;
    cpus: number;
    /** Absent: the image's HEALTHCHECK for web; none for a role (the image's is web's). */
    healthcheck?: HealthcheckSettings;
    /** A role without a healthcheck of its own counts as healthy once it stayed up this long; web has none. */
    upSeconds?: number;
    stopTimeoutSeconds: number;
    /** How long a new one may take to count as healthy. */
    healthTimeoutSeconds: number;
    /** The port web serves on; a role serves none. */
    listenPort?: number;
}

/** Shell words that change the shell itself: a command starting with one cannot be exec'd in the shell's place. */
const SHELL_BUILTINS = ["cd", "export", "set", "unset", "source", ".", "umask", "ulimit", "trap", "eval", "exec", "if", "for", "while", "until", "case", "{", "!"];

/**
 * How a role's command runs. A simple command (`node worker.js`) is exec'd by the image's shell, so it is PID 1's
 * process and gets the stop signal itself. A command written as Procfiles are (`cd /app && node worker.js`,
 * pipes, redirections, variables set first) cannot be exec'd: it runs under the shell, with Docker's init
 * (tini) as PID 1 signalling the whole process group, so SIGTERM reaches the worker, and the shell waits for it to
 * finish before it exits.
 */
export function roleProcess(command: string): { command: string[]; init: boolean; env: Record<string, string> } {
    const first = command.trim().split(/\s+/)[0];
    // Inside quotes, operators are plain text: `node -e 'a(); b()'` is one simple command.
    const unquoted = command.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, "''");
    const compound = /[;&|<>()`\n]/.test(unquoted) || SHELL_BUILTINS.includes(first) || first.includes("=");
    return compound
        ? { command: ["/bin/sh", "-c", `trap "exit 143" TERM INT; ${command}`], init: true, env: { TINI_KILL_PROCESS_GROUP: "1" } }
        : { command: ["/bin/sh", "-c", `exec ${command}`], init: false, env: {} };
}

/** The web process: the image's command on containerPort, behind the proxy, its healthcheck required. */
export function webProcess(app: AppSettings): AppProcess {
    return {
        nameParts: [app.name],
        role: "app",
        alias: app.name,
        command: [],
        init: false,
        env: {},
        replicas: app.replicas,
        restart: app.restart,
        memoryBytes: app.memoryBytes,
        cpus: app.cpus,
        healthcheck: app.healthcheck,
        stopTimeoutSeconds: app.stopTimeoutSeconds,
        healthTimeoutSeconds: app.healthTimeoutSeconds,
        listenPort: app.containerPort,
    };
}

/** A role of berth:roles: its command under the image's shell, its own limits and health, no port. */
export function processOfRole(app: AppSettings, role: RoleSettings): AppProcess {
    const run = roleProcess(role.command);
    return {
        nameParts: [app.name, role.name],
        role: "worker",
        process: role.name,
        alias: `${app.name}-${role.name}`,
        command: run.command,
        init: run.init,
        env: run.env,
        replicas: role.replicas,
        restart: role.restart,
        memoryBytes: role.memoryBytes,
        cpus: role.cpus,
        healthcheck: role.healthcheck,
        upSeconds: role.upSeconds,
        stopTimeoutSeconds: role.stopTimeoutSeconds,
        // Without a healthcheck, staying up upSeconds is the test, and it needs that long at least.
        healthTimeoutSeconds: Math.max(app.healthTimeoutSeconds, role.upSeconds + 30),
    };
}

/** A process's labels: the user's, then berth's (its release's version, and as `role` a watched release's `canary`). */
export function processLabels(stack: string, app: Pick<AppSettings, "name" | "labels">, process: Pick<AppProcess, "role" | "process">, version: pulumi.Input<string>, role: string = process.role): pulumi.Output<Record<string, string>> {
    return pulumi.output(version).apply((v) => ({
        ...app.labels,
        ...berthLabels(stack, role, { [LABEL.app]: app.name, ...(process.process ? { [LABEL.process]: process.process } : {}), [LABEL.version]: v }),
    }));
}

/** What a stack's deployment gives back, on hosts and on a swarm alike (the stack's outputs). */
export interface DeploymentOutputs {
    /** Per host: the proxy's URL, or each published replica's (with berth:domains, Environment gives the names' instead). */
    urls: string[];
    /** Web's containers (or its Swarm service). */
    containers: pulumi.Output<string[]>;
    /** Each role's containers (or its Swarm service). */
    processes: pulumi.Output<Record<string, string[]>>;
    /** Host → the image its replicas run (two, joined by a space, while its rollout is incomplete); `swarm` → web's. */
    hostReleases: pulumi.Output<Record<string, string>>;
    /** The last lines the release command printed when it last ran (empty without one). */
    releaseCommandOutput: pulumi.Output<string>;
    /** The release before the current one: what a rollback sets berth:image to. */
    previousImageRef: pulumi.Output<string>;
    releases: pulumi.Output<string[]>;
}

/** The stack's parts both mappings build on: made once by Environment, whatever runs the processes. */
export interface StackParts {
    /** The Environment's name: its resources' names start with it. */
    name: string;
    stack: string;
    settings: BerthSettings;
    /** The app's image (by digest), its version and the login that pulls it. */
    image: Pick<AppImage, "imageRef" | "version" | "pullLogin">;
    /** The image as each host has it (its pull done). */
    imageOn: pulumi.Output<string>[];
    /** The stack's network on each host (one overlay network on a swarm). */
    networks: Pick<StackNetwork, "name">[];
    /** The services the app depends on: its processes start once they are healthy. */
    needed: pulumi.Resource[];
    /** What the app gets on a host besides its own berth:env: its services' settings and its secret variables. */
    serviceEnvOn: (host: string) => pulumi.Output<Record<string, string>>;
    /** berth's proxy image, when the app is published through it. */
    proxyImage?: pulumi.Output<string>;
    /** The stack's names on a host's front door (berth:domains), passed to `upstream` once `after` is in place. */
    frontDoorOn?: (host: string, index: number, upstream: string, after: pulumi.Resource[]) => pulumi.Resource;
    /** The login other machines pull berth's own images with (undefined on the engine that built them). */
    pullLogin?: pulumi.Input<RegistryLogin>;
    /** The stack's own certificate (berth:tlsCertificate), for the proxy's HTTPS. */
    certificate?: pulumi.Output<{ certificate: string; privateKey: string }>;
}
