import { execFileSync } from "child_process";
import { isIP } from "net";
import * as pulumi from "@pulumi/pulumi";
import { AppImage } from "./appImage";
import { BerthSettings, engineAddress, isRemoteEngine, passwordKey, requiredSecrets, servesOwnCertificate, serviceHost, ServiceSettings, settingsWarnings } from "./config";
import { readTrackedStackFile, trackedSecretWarning, uncommittedSecrets } from "./config/trackedSecrets";
import { backedUp, BackupScheduler, backupImage, isBackedUp, repositoryKnownHosts, sqlServicesBackedUpOn } from "./backupScheduler";
import { PreReleaseBackup } from "./docker/preReleaseBackup";
import { DependencyService } from "./dependencyService";
import { StackParts } from "./deployment";
import { checkFrontDoor, refuseNameCollisions, ServiceImage, warnAboutEngines, warnAboutMissingImages, warnAboutStaleBackups } from "./engineCheck";
import { deployOnHosts } from "./hostsDeployment";
import { Ingress, ingressImage, ingressUrls } from "./ingress";
import { StackNetwork } from "./stackNetwork";
import { trustStackHostKeys } from "./docker/cli";
import { stackKnownHostsId } from "./docker/dockerResource";
import { HostCheck } from "./docker/hostCheck";
import { PulledImage } from "./docker/pulledImage";
import { SwarmCluster } from "./docker/swarmCluster";
import { deployOnSwarm } from "./swarmDeployment";
import { isSql } from "./serviceKinds";
import { hostScoped } from "./naming";
import { BerthImageArgs, proxyImage } from "./webProxy";

export interface EnvironmentArgs {
    stack: string;
    settings: BerthSettings;
    /** Where relative paths in the settings (the build context) start. */
    projectDir: string;
    /** Reads a secret config key (e.g. `postgresPassword`), already checked to be set. */
    secret: (key: string) => pulumi.Output<string>;
    /** The app's secret variables (berth:secretEnv), delivered like the services' passwords. */
    secretEnv?: pulumi.Input<Record<string, string>>;
    /** Looks at the engines and warns about what would hurt later (default: warnAboutEngines; unit tests pass none). */
    checkEngines?: (hosts: string[], resource: pulumi.Resource, forSwarm: boolean) => Promise<string[]>;
    /** Refuses a stack whose Docker names another stack's objects carry (default: refuseNameCollisions; unit tests pass none). */
    checkNames?: (stack: string, hosts: string[], resource: pulumi.Resource) => Promise<string[]>;
    /** Warns about service images their engines cannot get (default: warnAboutMissingImages; unit tests pass none). */
    checkImages?: (images: ServiceImage[], resource: pulumi.Resource) => Promise<string[]>;
    /** Refuses names another stack holds on a host's front door, warns about ports taken (default: checkFrontDoor). */
    checkFrontDoor?: typeof checkFrontDoor;
    /** Warns about services whose last backup is too old (default: warnAboutStaleBackups; unit tests pass none). */
    checkBackups?: typeof warnAboutStaleBackups;
}

/** `DATABASE_URL`, the convention most frameworks read, points at the first SQL service the app depends on. */
export function databaseService(services: ServiceSettings[], dependsOn: string[]): string | undefined {
    return dependsOn.find((name) => services.some((s) => s.name === name && isSql(s.kind)));
}

/**
 * The engine that builds the images: the one berth runs beside when any host is another machine (which then
 * pulls from the registry), else the stack's own engine, which then needs no registry round trip.
 */
export function buildHost(hosts: string[]): string {
    return hosts.some(isRemoteEngine) ? "" : hosts[0];
}

/** How long host names may take to resolve before the run fails naming them. */
export const LOOKUP_TIMEOUT_MS = 10_000;

/** Resolves names in a child Node.js process, all at once, and prints `{ name: address | { error } }` as JSON. */
const LOOKUP_SCRIPT = `
const dns = require("dns");
Promise.all(process.argv.slice(1).map((name) => dns.promises.lookup(name).then((a) => [name, a.address], (e) => [name, { error: e.code || e.message }])))
    .then((found) => process.stdout.write(JSON.stringify(Object.fromEntries(found))));`;

/**
 * The IP address of each host (its own when it is one, else its name resolved), as \`docker run -p\` takes it. Resolved
 * before any resource exists, synchronously and within LOOKUP_TIMEOUT_MS: a name that does not resolve fails the run
 * as the user's mistake it is, every such host named at once, never as an unhandled exception that leaves the
 * engine waiting on resources that can no longer register.
 */
export function hostAddresses(hosts: string[], lookup = (names: string[]) => execFileSync(process.execPath, ["-e", LOOKUP_SCRIPT, ...names], { encoding: "utf8", timeout: LOOKUP_TIMEOUT_MS })): Map<string, string> {
    const named = [...new Set(hosts.map(engineAddress).filter((address) => !isIP(address)))];
    let found: Record<string, string | { error: string }> = {};
    if (named.length > 0) {
        try {
            found = JSON.parse(lookup(named));
        } catch {
            found = Object.fromEntries(named.map((name) => [name, { error: `no answer within ${LOOKUP_TIMEOUT_MS / 1000} s` }]));
        }
    }
    const failed = [...new Set(hosts)].filter((host) => !isIP(engineAddress(host)) && typeof found[engineAddress(host)] !== "string");
    if (failed.length > 0) {
        throw new pulumi.RunError(failed.map((host) => {
            const answer = found[engineAddress(host)];
            return `${host}: its name ${engineAddress(host)} does not resolve from this machine (${typeof answer === "object" ? answer.error : "no answer"})`;
        }).join("\n") + "\nCheck the addresses in berth:hosts and this machine's DNS (or /etc/hosts); nothing was changed.");
    }
    return new Map(hosts.map((host) => [host, isIP(engineAddress(host)) ? engineAddress(host) : found[engineAddress(host)] as string]));
}

/**
 * One stack's whole deployment. What both orchestrators share is made here: the checks, the app's image (built
 * once), the networks, the services placed on their hosts, their backups, the front door's image; the app's
 * processes (deployment.ts) are then mapped onto containers per host (hostsDeployment.ts: a share of the replicas
 * and a proxy on each, host by host) or onto a swarm's services (swarmDeployment.ts), which give back the same outputs.
 */
export class Environment extends pulumi.ComponentResource {
    /** Per host: the proxy's URL, or each published replica's. */
    readonly urls: string[];
    readonly imageRef: pulumi.Output<string>;
    readonly version: pulumi.Output<string>;
    readonly containers: pulumi.Output<string[]>;
    /** Each role's containers (berth:roles), every host's. */
    readonly processes: pulumi.Output<Record<string, string[]>>;
    readonly services: Record<string, pulumi.Output<string>>;
    /** The release before the current one: what a rollback sets berth:image to. */
    readonly previousImageRef: pulumi.Output<string>;
    readonly releases: pulumi.Output<string[]>;
    /** Host → the image its replicas run (two, joined by a space, while its rollout is incomplete). */
    readonly hostReleases: pulumi.Output<Record<string, string>>;
    /** The last lines the release command printed when it last ran (empty without one). */
    readonly releaseCommandOutput: pulumi.Output<string>;

    constructor(name: string, args: EnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:index:Environment", name, {}, opts);
        const { settings, stack } = args;
        const { hosts, app } = settings;
        // Before any ssh: the stack's own host keys are what its hosts' keys are checked against, with the user's.
        trustStackHostKeys(stackKnownHostsId(pulumi.getProject(), stack), settings.knownHosts);
        for (const warning of settingsWarnings(settings)) pulumi.log.warn(warning, this);
        const stackFile = readTrackedStackFile(args.projectDir, pulumi.getStack());
        if (stackFile) {
            const added = uncommittedSecrets(stackFile.committed, stackFile.working);
            for (const warning of trackedSecretWarning(stackFile.file, added, process.env.PULUMI_CONFIG_PASSPHRASE_FILE)) pulumi.log.warn(warning, this);
        }
        const engineWarnings = (args.checkEngines ?? warnAboutEngines)(hosts, this, settings.orchestrator === "swarm");
        const nameCollisions = (args.checkNames ?? refuseNameCollisions)(stack, hosts, this);
        const backupWarnings = settings.backups ? (args.checkBackups ?? warnAboutStaleBackups)(stack, hosts, settings.backups.schedule, this) : undefined;
        // Where hosts reach each other by address (services on a host of several, a swarm's nodes): known before anything is declared.
        const addressed = settings.orchestrator === "swarm" ? hosts.filter(isRemoteEngine) : hosts.length > 1 ? settings.services.map((service) => serviceHost(service, hosts)) : [];
        const addresses = hostAddresses(addressed);
        const secrets = requiredSecrets(settings);
        const remote = hosts.some(isRemoteEngine);
        const registryLogin = pulumi.secret(pulumi.output({
            server: settings.registry.server,
            username: settings.registry.username,
            password: secrets.includes("registryPassword") ? args.secret("registryPassword") : pulumi.output(""),
        }));
        const certificate = servesOwnCertificate(app) ? pulumi.secret(pulumi.all([args.secret("tlsCertificate"), args.secret("tlsPrivateKey")])
            .apply(([cert, privateKey]) => ({ certificate: cert, privateKey }))) : undefined;
        const frontDoor = app.ingress;
        const claims = frontDoor ? (args.checkFrontDoor ?? checkFrontDoor)(stack, hosts, frontDoor, this) : [];
        // Other machines pull what berth built; its own engine already has it.
        const pullLogin = remote ? registryLogin : undefined;
        // First: a release's critical path starts with its build, and the engine checks resources in the order they come.
        const image = new AppImage(`${name}-image`, {
            host: buildHost(hosts),
            stack,
            app: app.name,
            branch: app.branch,
            source: app.source,
            projectDir: args.projectDir,
            registry: { ...settings.registry, password: registryLogin.apply((login) => login.password) },
        }, { parent: this });
        // Every remote host is checked (SSH, Docker, the registry) before anything changes on any of them.
        const checks = hosts.filter(isRemoteEngine).map((host) =>
            new HostCheck(hostScoped(`${name}-check`, hosts.indexOf(host)), { host, registry: registryLogin }, { parent: this }));
        // On a swarm, the hosts are first made one cluster, and the stack gets one overlay network across it.
        const cluster = settings.orchestrator === "swarm" ? new SwarmCluster(`${name}-swarm`, {
            hosts,
            managers: settings.swarm.managers,
            addresses: hosts.map((host) => addresses.get(host) ?? ""),
            addressPool: settings.swarm.addressPool,
        }, { parent: this, dependsOn: checks }) : undefined;
        // What is declared on the swarm goes through its manager once the cluster exists.
        const manager = cluster?.clusterId.apply(() => hosts[0]);
        const networks = cluster
            ? [new StackNetwork(`${name}-net`, { host: hosts[0], stack, overlay: true }, { parent: this, dependsOn: [cluster] })]
            : hosts.map((host, i) => new StackNetwork(hostScoped(`${name}-net`, i), { host, stack }, { parent: this, dependsOn: checks }));
        // berth's nginx image: the web proxy in front of the replicas, and the port of each service other hosts reach.
        const webProxy = app.proxy && app.hostPort > 0;
        // berth's own images (proxy, ingress): built where the app is, pushed where other machines pull them.
        const berthImages: BerthImageArgs = { buildHost: buildHost(hosts), registry: remote ? { server: settings.registry.server, namespace: settings.registry.namespace, login: registryLogin } : undefined };
        const crossHostServices = hosts.length > 1 && !cluster;
        const proxyImageRef = webProxy || (crossHostServices && settings.services.length > 0)
            ? proxyImage(`${name}-proxy-image`, berthImages, {
                parent: this,
                // Single-host stacks built it inside their proxy component: the same image, not a new one.
                aliases: [{ parent: pulumi.createUrn(`${name}-proxy`, "berth:service:WebProxy", this) }],
            }).imageRef
            : undefined;
        const frontDoorImage = frontDoor
            ? ingressImage(`${name}-ingress-image`, berthImages, { parent: this }).imageRef
            : undefined;
        /** The stack's names on a host's front door, passing requests to the stack's proxy at `upstream`, once `after` is in place. */
        const frontDoorOn = (host: string, i: number, upstream: string, after: pulumi.Resource[]) => new Ingress(hostScoped(`${name}-ingress`, i), {
            host, stack, image: frontDoorImage!, pullLogin, settings: frontDoor!, upstream,
            edge: app.edge, certificate: frontDoor!.tls === "manual" ? certificate : undefined, logRotation: settings.logRotation,
        }, { parent: this, dependsOn: after });
        const services = new Map(settings.services.map((service) => {
            const host = serviceHost(service, hosts);
            const fromRegistry = service.image.startsWith(`${settings.registry.server}/`);
            return [service.name, new DependencyService(`${name}-${service.name}`, {
                host,
                stack,
                service,
                network: networks[cluster ? 0 : hosts.indexOf(host)].name,
                ephemeral: settings.ephemeral,
                password: secrets.includes(passwordKey(service.name)) ? args.secret(passwordKey(service.name)) : undefined,
                logRotation: settings.logRotation,
                // On a swarm every task reaches it by name over the overlay network.
                privateAddress: crossHostServices ? addresses.get(host) : undefined,
                pullLogin: fromRegistry ? registryLogin : undefined,
                portImage: crossHostServices ? { image: proxyImageRef!, pullLogin } : undefined,
                swarm: cluster ? { manager: manager!, nodeId: cluster.nodeIds.apply((ids) => ids[hosts.indexOf(host)]) } : undefined,
            }, { parent: this })];
        }));
        const missingImages = pulumi.secret(pulumi.all([...services.values()].map((s) => pulumi.output(s.pullLogin))).apply((logins) =>
            (args.checkImages ?? warnAboutMissingImages)([...services.entries()].map(([service, s], i) => ({ service, host: s.host, image: s.image, login: logins[i] })), this)));
        const needed = app.dependsOn.map((serviceName) => services.get(serviceName)!);
        const database = databaseService(settings.services, app.dependsOn);
        const secretEnv = pulumi.secret(pulumi.output(args.secretEnv ?? {}));
        /** What the app gets besides its own berth:env: the services' settings and its secret variables. */
        const serviceEnvOn = (host: string): pulumi.Output<Record<string, string>> => {
            const env = pulumi.all([...needed.map((s) => s.connectionEnv(host)), secretEnv]).apply((envs) => Object.assign({}, ...envs) as Record<string, string>);
            return database ? pulumi.all([env, services.get(database)!.url(host)]).apply(([e, url]): Record<string, string> => ({ ...e, DATABASE_URL: url })) : env;
        };
        // Every remote host pulls the new image as soon as it is pushed, not when its turn in the rollout comes.
        const imageOn = hosts.map((host, i) => isRemoteEngine(host)
            ? new PulledImage(hostScoped(`${name}-pull`, i), { host, reference: image.imageRef, registry: image.pullLogin }, { parent: this, dependsOn: checks }).imageRef
            : image.imageRef);
        /** Each host's backup scheduler, where the host runs services with data and berth:backups is set. */
        const schedulers = new Map<string, BackupScheduler>();
        if (settings.backups && !cluster) {
            const backups = settings.backups;
            const backupImageRef = backupImage(`${name}-backup-image`, berthImages, { parent: this }).imageRef;
            const knownHosts = backups.sftp ? repositoryKnownHosts(backups.sftp.host, settings.knownHosts) : [];
            hosts.forEach((host, i) => {
                const here = settings.services.filter(isBackedUp).filter((s) => serviceHost(s, hosts) === host);
                if (here.length === 0) return;
                schedulers.set(host, new BackupScheduler(hostScoped(`${name}-backup`, i), {
                    host, stack, network: networks[i].name, image: backupImageRef, pullLogin, settings: backups,
                    services: here.map((s) => backedUp(s, { ...services.get(s.name)!, volume: services.get(s.name)!.dataVolume })),
                    repositoryPassword: args.secret("backupPassword"),
                    sshKey: backups.sftp ? args.secret("backupSshKey") : undefined,
                    knownHosts, logRotation: settings.logRotation,
                }, { parent: this, dependsOn: here.map((s) => services.get(s.name)!) }));
            });
        }
        // Before a new release's release command: a backup of the SQL services the app depends on (the command waits on it).
        const preReleaseBackups = settings.backups?.beforeRelease && app.releaseCommand ? [...schedulers].flatMap(([host, scheduler]) => {
            const sql = sqlServicesBackedUpOn(host, settings.services, app.dependsOn, (s) => serviceHost(s, hosts));
            return sql.length === 0 ? [] : [new PreReleaseBackup(hostScoped(`${name}-pre-release-backup`, hosts.indexOf(host)),
                { host, scheduler: scheduler.containerName, services: sql, release: image.imageRef }, { parent: this })];
        }) : [];
        const parts: StackParts = {
            name, stack, settings, image, imageOn, networks, needed, serviceEnvOn, pullLogin, certificate,
            proxyImage: webProxy ? proxyImageRef : undefined,
            frontDoorOn: frontDoor ? frontDoorOn : undefined,
        };
        const deployment = cluster ? deployOnSwarm(this, parts, manager!) : deployOnHosts(this, parts, { preReleaseBackups, schedulers });
        this.urls = frontDoor ? ingressUrls(frontDoor) : deployment.urls;
        this.releaseCommandOutput = deployment.releaseCommandOutput;
        this.previousImageRef = deployment.previousImageRef;
        this.releases = deployment.releases;
        this.imageRef = image.imageRef;
        this.version = image.version;
        this.containers = deployment.containers;
        this.processes = deployment.processes;
        this.hostReleases = deployment.hostReleases;
        this.services = Object.fromEntries([...services].map(([serviceName, s]) => [serviceName, s.containerName]));
        this.registerOutputs({ urls: this.urls, imageRef: this.imageRef, version: this.version, containers: this.containers, hostReleases: this.hostReleases, engineWarnings, nameCollisions, missingImages, claims, backupWarnings });
    }
}
