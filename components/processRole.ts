import * as pulumi from "@pulumi/pulumi";
import { appEnvironment } from "./appService";
import { AppSettings, LogRotation, RoleSettings } from "./config";
import { DockerContainer } from "./docker/container";
import type { RegistryLogin } from "./docker/providers/image";
import { berthLabels, dockerName, LABEL } from "./naming";

export interface ProcessRoleArgs {
    host: string;
    stack: string;
    app: AppSettings;
    role: RoleSettings;
    /** The release's image by digest: the web replicas' own. */
    image: pulumi.Input<string>;
    version: pulumi.Input<string>;
    pullLogin?: pulumi.Input<RegistryLogin>;
    network: pulumi.Input<string>;
    /** The services' connection settings and the secret variables, as the web replicas get them. */
    serviceEnv: pulumi.Input<Record<string, string>>;
    logRotation: LogRotation;
    /** This role's containers on this host. */
    replicas: number;
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

/**
 * A process role besides web (a queue consumer, a scheduler): containers of the release's image running the role's
 * command, with the app's environment and services, no port. Each new one is gated by its healthcheck or, without
 * one, by staying up `upSeconds`; then its predecessor is stopped (SIGTERM, stopTimeoutSeconds to finish its job).
 */
export class ProcessRole extends pulumi.ComponentResource {
    readonly role: string;
    readonly containerNames: pulumi.Output<string[]>;

    constructor(name: string, args: ProcessRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:service:ProcessRole", name, {}, opts);
        const { app, role } = args;
        this.role = role.name;
        const process = roleProcess(role.command);
        const env = pulumi.output(appEnvironment(app, args.serviceEnv)).apply((appEnv) => ({ ...appEnv, ...process.env }));
        const containers = Array.from({ length: args.replicas }, (_, index) => new DockerContainer(`${name}-${index + 1}`, {
            host: args.host,
            namePrefix: dockerName(args.stack, app.name, role.name),
            image: args.image,
            command: process.command,
            ...(process.init ? { init: true } : {}),
            env,
            labels: pulumi.output(args.version).apply((version) => ({
                ...app.labels,
                ...berthLabels(args.stack, "worker", { [LABEL.app]: app.name, [LABEL.process]: role.name, [LABEL.version]: version }),
            })),
            networks: pulumi.output(args.network).apply((network) => [{ name: network, aliases: [`${app.name}-${role.name}`] }]),
            ports: [],
            volumes: [],
            restart: role.restart,
            memoryBytes: role.memoryBytes,
            cpus: role.cpus,
            // The image's HEALTHCHECK is the web process's (it asks for HTTP): a role has its own or none.
            healthcheck: role.healthcheck,
            noHealthcheck: role.healthcheck === undefined,
            upSeconds: role.healthcheck === undefined ? role.upSeconds : 0,
            stopTimeoutSeconds: role.stopTimeoutSeconds,
            logDriver: app.logDriver,
            logOptions: app.logOptions,
            logRotation: args.logRotation,
            healthTimeoutSeconds: Math.max(app.healthTimeoutSeconds, role.upSeconds + 30),
            registry: args.pullLogin,
        }, { parent: this }));
        this.containerNames = pulumi.all(containers.map((container) => container.name));
        this.registerOutputs({ containerNames: this.containerNames });
    }
}
