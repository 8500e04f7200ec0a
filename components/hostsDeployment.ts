import * as pulumi from "@pulumi/pulumi";
import { appEnvironment, AppService, processContainer } from "./appService";
import type { BackupScheduler } from "./backupScheduler";
import { watchPhases } from "./canary";
import { loopbackFor, replicasPerHost, rolloutBatches, socketAddress } from "./config";
import { DeploymentOutputs, processLabels, StackParts, webProcess } from "./deployment";
import { BackupRelease } from "./docker/backupRelease";
import { CanaryRelease } from "./docker/canaryRelease";
import { ReleaseHistory } from "./docker/releaseHistory";
import { RolloutPause } from "./docker/rolloutPause";
import { dockerName, hostScoped } from "./naming";
import { ProcessRole } from "./processRole";
import { WebProxy } from "./webProxy";

/** What the hosts mapping needs besides the stack's parts. */
export interface HostsExtras {
    /** Backups of the SQL services the release command waits for. */
    preReleaseBackups: pulumi.Resource[];
    /** Each host's backup scheduler: tagged with the release once it runs everywhere. */
    schedulers: Map<string, BackupScheduler>;
}

/**
 * The release's watch (berth:canary, berth:watchSeconds), one for all hosts: on each, web's new containers as its
 * replicas run them; made after the release steps, and every replica and role waits for it.
 */
function releaseWatch(parent: pulumi.Resource, parts: StackParts, replicaCounts: number[]): ((after: pulumi.Resource[]) => pulumi.Resource) | undefined {
    const { name, stack, settings, image } = parts;
    const { hosts, app } = settings;
    const phases = watchPhases(app.canary, app.watchSeconds);
    if (phases.length === 0) return undefined;
    const web = webProcess(app);
    const { maxErrorRate, maxP95Ms, minRequests, tooFewRequests } = app.canary;
    return (after) => new CanaryRelease(`${name}-release-watch`, {
        stack,
        targets: pulumi.output(hosts.map((host, i) => ({
            spec: {
                ...processContainer(web, { host, app, image: parts.imageOn[i], network: parts.networks[i].name, logRotation: settings.logRotation }),
                namePrefix: dockerName(stack, ...web.nameParts, "canary"),
                labels: processLabels(stack, app, web, image.version, "canary"),
                ports: [],
            },
            replicas: replicaCounts[i],
        }))),
        env: pulumi.all(hosts.map((host) => appEnvironment(app, parts.serviceEnvOn(host)))),
        phases,
        bounds: { maxErrorRate, maxP95Ms, minRequests, tooFewRequests },
    }, { parent, dependsOn: after });
}

/**
 * The stack's processes as containers on each host: web's replicas (the release gate, release command and watch on
 * the first host, before any replica anywhere), each role's, and a proxy in front of web; host batches one after the
 * other, each once the batch before serves the new release; each host records its release and prunes old ones.
 */
export function deployOnHosts(parent: pulumi.Resource, parts: StackParts, extras: HostsExtras): DeploymentOutputs {
    const { name, stack, settings, image } = parts;
    const { hosts, app } = settings;
    const replicaCounts = replicasPerHost(app.replicas, hosts.length);
    const roleCounts = new Map(settings.roles.map((role) => [role.name, replicasPerHost(role.replicas, hosts.length)]));
    const watchRelease = releaseWatch(parent, parts, replicaCounts);
    const deployed: { appService: AppService; proxy?: WebProxy; roles: ProcessRole[]; history: ReleaseHistory }[] = [];
    // Each batch of hosts starts once the batch before serves the new release (and any pause has passed).
    let releaseAfter: pulumi.Resource[] = [];
    const batches = rolloutBatches(hosts.length, settings.rollout.batchSize);
    for (const [b, batch] of batches.entries()) {
        for (const i of batch) {
            const host = hosts[i];
            const onHost = { host, stack, app, image: parts.imageOn[i], version: image.version, pullLogin: image.pullLogin, network: parts.networks[i].name, serviceEnv: parts.serviceEnvOn(host), logRotation: settings.logRotation };
            const appService = new AppService(hostScoped(`${name}-app`, i), {
                ...onHost,
                dependsOn: [...parts.needed, ...(deployed[0]?.appService.releaseSteps ?? extras.preReleaseBackups), ...releaseAfter],
                replicas: replicaCounts[i],
                runsReleaseGate: i === 0,
                watchRelease,
            }, { parent });
            // The other roles start with web's new replicas, after the release command, and the proxy switches
            // only once they run: a role that cannot start fails the release while the old one serves.
            const roles = settings.roles.filter((role) => roleCounts.get(role.name)![i] > 0).map((role) => new ProcessRole(hostScoped(`${name}-role-${role.name}`, i), {
                ...onHost,
                role,
                replicas: roleCounts.get(role.name)![i],
            }, { parent, dependsOn: [...parts.needed, ...(deployed[0]?.appService ?? appService).releaseSteps, ...releaseAfter] }));
            const proxy = parts.proxyImage
                ? new WebProxy(hostScoped(`${name}-proxy`, i), {
                    host, stack, image: parts.proxyImage, pullLogin: parts.pullLogin,
                    hostPort: app.hostPort, bindAddress: app.bindAddress, upstreams: appService.upstreams, drainSeconds: app.stopTimeoutSeconds,
                    logRotation: settings.logRotation,
                    edge: app.edge, tls: app.edge.httpsPort > 0 ? parts.certificate : undefined, behindFrontDoor: parts.frontDoorOn !== undefined,
                }, { parent, dependsOn: roles })
                : undefined;
            // The stack's names on the host's front door, passed to its proxy: in place once the proxy serves.
            parts.frontDoorOn?.(host, i, socketAddress(loopbackFor(app.bindAddress), app.hostPort), [proxy!]);
            const served = proxy ? [appService, proxy] : [appService];
            // Recorded once the host's release is in place (replicas healthy, proxy rerouted, roles replaced); prunes that host.
            const history = new ReleaseHistory(hostScoped(`${name}-releases`, i), {
                host,
                stack,
                imageRef: image.imageRef,
                keep: app.keepReleases,
            }, { parent, dependsOn: [...served, ...roles] });
            deployed[i] = { appService, proxy, roles, history };
        }
        const done = batch.flatMap((i) => [deployed[i].appService, ...(deployed[i].proxy ? [deployed[i].proxy!] : []), ...deployed[i].roles]);
        releaseAfter = settings.rollout.pauseSeconds > 0 && b < batches.length - 1
            ? [new RolloutPause(`${name}-rollout-pause-${b + 1}`, { release: image.imageRef, seconds: settings.rollout.pauseSeconds }, { parent, dependsOn: done })]
            : done;
    }
    // Each scheduler tags its snapshots with the release running everywhere, once it is.
    [...extras.schedulers].forEach(([host, scheduler]) => new BackupRelease(hostScoped(`${name}-backup-release`, hosts.indexOf(host)),
        { host, scheduler: scheduler.containerName, release: image.imageRef }, { parent, dependsOn: deployed.map((d) => d.history) }));
    return {
        urls: deployed.flatMap(({ appService, proxy }) => (proxy ? [proxy.url] : appService.urls)),
        releaseCommandOutput: deployed[0].appService.releaseOutput ?? pulumi.output(""),
        previousImageRef: deployed[0].history.previous,
        releases: deployed[0].history.releases,
        containers: pulumi.all(deployed.map(({ appService }) => appService.containerNames)).apply((names) => names.flat()),
        processes: pulumi.all(Object.fromEntries(settings.roles.map((role) => [role.name,
            pulumi.all(deployed.flatMap(({ roles }) => roles.filter((r) => r.role === role.name).map((r) => r.containerNames))).apply((names) => names.flat())]))),
        hostReleases: pulumi.all(deployed.map(({ appService }) => appService.images)).apply((images) =>
            Object.fromEntries(hosts.map((host, i) => [host || "local", images[i].join(" ")]))),
    };
}
