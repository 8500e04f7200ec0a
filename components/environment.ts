import { execFileSync } from "child_process";
import { isIP } from "net";
import * as pulumi from "@pulumi/pulumi";
import { AppImage } from "./appImage";
import { appEnvironment, AppService, webContainer, webLabels } from "./appService";
import { watchPhases } from "./canary";
import { CanaryRelease } from "./docker/canaryRelease";
import { BerthSettings, engineAddress, hostUrl, isRemoteEngine, loopbackFor, passwordKey, replicasPerHost, requiredSecrets, rolloutBatches, servesOwnCertificate, serviceHost, ServiceSettings, settingsWarnings, socketAddress } from "./config";
import { readTrackedStackFile, trackedSecretWarning, uncommittedSecrets } from "./config/trackedSecrets";
import { backedUp, BackupScheduler, backupImage, isBackedUp, repositoryKnownHosts, sqlServicesBackedUpOn } from "./backupScheduler";
import { BackupRelease } from "./docker/backupRelease";
import { PreReleaseBackup } from "./docker/preReleaseBackup";
import { DependencyService } from "./dependencyService";
import { checkFrontDoor, refuseNameCollisions, ServiceImage, warnAboutEngines, warnAboutMissingImages, warnAboutStaleBackups } from "./engineCheck";
import { Ingress, ingressImage, ingressUrls } from "./ingress";
import { StackNetwork } from "./stackNetwork";
import { trustStackHostKeys } from "./docker/cli";
import { stackKnownHostsId } from "./docker/dockerResource";
import { HostCheck } from "./docker/hostCheck";
import { PulledImage } from "./docker/pulledImage";
import { ReleaseHistory } from "./docker/releaseHistory";
import { RolloutPause } from "./docker/rolloutPause";
import { SwarmCluster } from "./docker/swarmCluster";
import { SWARM_PROXY_FROM_HOST, SwarmApp } from "./swarmApp";
import { ProcessRole } from "./processRole";
import { isSql } from "./serviceKinds";
import { dockerName } from "./naming";
import { BerthImageArgs, proxyImage, WebProxy } from "./webProxy";

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

/** Resource names of host `index`: the first host keeps the names single-host stacks always had. */
export function hostScoped(name: string, index: number): string {
    return index === 0 ? name : `${name}-h${index + 1}`;
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
 * One stack's whole deployment: on each of its hosts a network, the services placed there, a share of the app's
 * replicas and a proxy in front of them; the app's image built once. A release rolls out host by host.
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
        const serviceEnvOn = (host: string) => {
            const env = pulumi.all([...needed.map((s) => s.connectionEnv(host)), secretEnv]).apply((envs) => Object.assign({}, ...envs) as Record<string, string>);
            return database ? pulumi.all([env, services.get(database)!.url(host)]).apply(([e, url]) => ({ ...e, DATABASE_URL: url })) : env;
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
        if (cluster) {
            const swarmApp = new SwarmApp(`${name}-app`, {
                manager: manager!, stack, app, roles: settings.roles, swarm: settings.swarm,
                image: image.imageRef, imageOnManager: imageOn[0], version: image.version, pullLogin: image.pullLogin,
                network: networks[0].name, serviceEnv: serviceEnvOn(hosts[0]), dependsOn: needed, logRotation: settings.logRotation, proxyImage: webProxy ? proxyImageRef : undefined,
            }, { parent: this });
            // Every node's front door passes the stack's names to that node's proxy task (published on the node's hostPort).
            if (frontDoor) hosts.forEach((host, i) => frontDoorOn(host, i, socketAddress(SWARM_PROXY_FROM_HOST, app.hostPort), swarmApp.deployed));
            // Each node keeps the stack's last releases and prunes the rest, once the release is in place.
            const histories = hosts.map((host, i) => new ReleaseHistory(hostScoped(`${name}-releases`, i), { host, stack, imageRef: image.imageRef, keep: app.keepReleases }, { parent: this, dependsOn: swarmApp.deployed }));
            this.urls = frontDoor ? ingressUrls(frontDoor) : webProxy ? hosts.map((host) => hostUrl(host, "0.0.0.0", app.hostPort)) : [];
            this.releaseCommandOutput = swarmApp.releaseOutput ?? pulumi.output("");
            this.previousImageRef = histories[0].previous;
            this.releases = histories[0].releases;
            this.imageRef = image.imageRef;
            this.version = image.version;
            this.containers = swarmApp.serviceName.apply((service) => [service]);
            this.processes = pulumi.all(Object.fromEntries(Object.entries(swarmApp.roleServices).map(([role, service]) => [role, service.apply((s) => [s])])));
            this.hostReleases = swarmApp.runningImage.apply((running): Record<string, string> => ({ swarm: running }));
            this.services = Object.fromEntries([...services].map(([serviceName, s]) => [serviceName, s.containerName]));
            this.registerOutputs({ urls: this.urls, imageRef: this.imageRef, version: this.version, containers: this.containers, hostReleases: this.hostReleases, engineWarnings, nameCollisions, missingImages, backupWarnings });
            return;
        }
        const replicaCounts = replicasPerHost(app.replicas, hosts.length);
        const roleCounts = new Map(settings.roles.map((role) => [role.name, replicasPerHost(role.replicas, hosts.length)]));
        // A watched release (berth:canary, berth:watchSeconds): after the release steps, before any replica or role changes.
        const phases = watchPhases(app.canary, app.watchSeconds);
        const { maxErrorRate, maxP95Ms, minRequests, tooFewRequests } = app.canary;
        const watchRelease = phases.length === 0 ? undefined : (after: pulumi.Resource[]) => new CanaryRelease(`${name}-release-watch`, {
            stack,
            targets: pulumi.output(hosts.map((host, i) => ({
                spec: {
                    ...webContainer({ host, app, image: imageOn[i], network: networks[i].name, logRotation: settings.logRotation }),
                    namePrefix: dockerName(stack, app.name, "canary"),
                    labels: webLabels(stack, app, image.version, "canary"),
                    ports: [],
                },
                replicas: replicaCounts[i],
            }))),
            env: pulumi.all(hosts.map((host) => appEnvironment(app, serviceEnvOn(host)))),
            phases,
            bounds: { maxErrorRate, maxP95Ms, minRequests, tooFewRequests },
        }, { parent: this, dependsOn: after });
        const deployed: { appService: AppService; proxy?: WebProxy; roles: ProcessRole[]; history: ReleaseHistory }[] = [];
        // Each batch of hosts starts once the batch before serves the new release (and any pause has passed).
        let releaseAfter: pulumi.Resource[] = [];
        const batches = rolloutBatches(hosts.length, settings.rollout.batchSize);
        for (const [b, batch] of batches.entries()) {
            for (const i of batch) {
                const host = hosts[i];
                const appService = new AppService(hostScoped(`${name}-app`, i), {
                    host,
                    stack,
                    app,
                    image: imageOn[i],
                    version: image.version,
                    pullLogin: image.pullLogin,
                    network: networks[i].name,
                    serviceEnv: serviceEnvOn(host),
                    dependsOn: [...needed, ...(deployed[0]?.appService.releaseSteps ?? preReleaseBackups), ...releaseAfter],
                    logRotation: settings.logRotation,
                    replicas: replicaCounts[i],
                    runsReleaseGate: i === 0,
                    watchRelease,
                }, { parent: this });
                // The other roles start with web's new replicas, after the release command, and the proxy switches
                // only once they run: a role that cannot start fails the release while the old one serves.
                const roles = settings.roles.filter((role) => roleCounts.get(role.name)![i] > 0).map((role) => new ProcessRole(hostScoped(`${name}-role-${role.name}`, i), {
                    host,
                    stack,
                    app,
                    role,
                    image: imageOn[i],
                    version: image.version,
                    pullLogin: image.pullLogin,
                    network: networks[i].name,
                    serviceEnv: serviceEnvOn(host),
                    logRotation: settings.logRotation,
                    replicas: roleCounts.get(role.name)![i],
                }, { parent: this, dependsOn: [...needed, ...(deployed[0]?.appService ?? appService).releaseSteps, ...releaseAfter] }));
                const proxy = webProxy
                    ? new WebProxy(hostScoped(`${name}-proxy`, i), {
                        host, stack, image: proxyImageRef!, pullLogin,
                        hostPort: app.hostPort, bindAddress: app.bindAddress, upstreams: appService.upstreams, drainSeconds: app.stopTimeoutSeconds,
                        logRotation: settings.logRotation,
                        edge: app.edge, tls: app.edge.httpsPort > 0 ? certificate : undefined, behindFrontDoor: frontDoor !== undefined,
                    }, { parent: this, dependsOn: roles })
                    : undefined;
                // The stack's names on the host's front door, passed to its proxy: in place once the proxy serves.
                if (frontDoor) frontDoorOn(host, i, socketAddress(loopbackFor(app.bindAddress), app.hostPort), [proxy!]);
                const web = proxy ? [appService, proxy] : [appService];
                // Recorded once the host's release is in place (replicas healthy, proxy rerouted, roles replaced); prunes that host.
                const history = new ReleaseHistory(hostScoped(`${name}-releases`, i), {
                    host,
                    stack,
                    imageRef: image.imageRef,
                    keep: app.keepReleases,
                }, { parent: this, dependsOn: [...web, ...roles] });
                deployed[i] = { appService, proxy, roles, history };
            }
            const done = batch.flatMap((i) => [deployed[i].appService, ...(deployed[i].proxy ? [deployed[i].proxy!] : []), ...deployed[i].roles]);
            releaseAfter = settings.rollout.pauseSeconds > 0 && b < batches.length - 1
                ? [new RolloutPause(`${name}-rollout-pause-${b + 1}`, { release: image.imageRef, seconds: settings.rollout.pauseSeconds }, { parent: this, dependsOn: done })]
                : done;
        }
        // Each scheduler tags its snapshots with the release running everywhere, once it is.
        [...schedulers].forEach(([host, scheduler]) => new BackupRelease(hostScoped(`${name}-backup-release`, hosts.indexOf(host)),
            { host, scheduler: scheduler.containerName, release: image.imageRef }, { parent: this, dependsOn: deployed.map((d) => d.history) }));
        this.urls = frontDoor ? ingressUrls(frontDoor) : deployed.flatMap(({ appService, proxy }) => (proxy ? [proxy.url] : appService.urls));
        this.releaseCommandOutput = deployed[0].appService.releaseOutput ?? pulumi.output("");
        this.previousImageRef = deployed[0].history.previous;
        this.releases = deployed[0].history.releases;
        this.imageRef = image.imageRef;
        this.version = image.version;
        this.containers = pulumi.all(deployed.map(({ appService }) => appService.containerNames)).apply((names) => names.flat());
        this.processes = pulumi.all(Object.fromEntries(settings.roles.map((role) => [role.name,
            pulumi.all(deployed.flatMap(({ roles }) => roles.filter((r) => r.role === role.name).map((r) => r.containerNames))).apply((names) => names.flat())])));
        this.hostReleases = pulumi.all(deployed.map(({ appService }) => appService.images)).apply((images) =>
            Object.fromEntries(hosts.map((host, i) => [host || "local", images[i].join(" ")])));
        this.services = Object.fromEntries([...services].map(([serviceName, s]) => [serviceName, s.containerName]));
        this.registerOutputs({ urls: this.urls, imageRef: this.imageRef, version: this.version, containers: this.containers, hostReleases: this.hostReleases, engineWarnings, nameCollisions, missingImages, claims, backupWarnings });
    }
}
