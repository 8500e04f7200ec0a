import * as pulumi from "@pulumi/pulumi";
import { hostUrl, socketAddress } from "./config";
import type { DeploymentOutputs, StackParts } from "./deployment";
import { ReleaseHistory } from "./docker/releaseHistory";
import { hostScoped } from "./naming";
import { SWARM_PROXY_FROM_HOST, SwarmApp } from "./swarmApp";

/**
 * The stack's processes on a swarm: web and each role as a service (rolling start-first updates gated by health),
 * berth's proxy as a global service on every node; each node's front door passes the stack's names to its proxy task,
 * and each node keeps the stack's last releases.
 */
export function deployOnSwarm(parent: pulumi.Resource, parts: StackParts, manager: pulumi.Input<string>): DeploymentOutputs {
    const { name, stack, settings, image } = parts;
    const { hosts, app } = settings;
    const swarmApp = new SwarmApp(`${name}-app`, {
        manager, stack, app, roles: settings.roles, swarm: settings.swarm,
        image: image.imageRef, imageOnManager: parts.imageOn[0], version: image.version, pullLogin: image.pullLogin,
        network: parts.networks[0].name, serviceEnv: parts.serviceEnvOn(hosts[0]), dependsOn: parts.needed, logRotation: settings.logRotation, proxyImage: parts.proxyImage,
    }, { parent });
    // Every node's front door passes the stack's names to that node's proxy task (published on the node's hostPort).
    if (parts.frontDoorOn) hosts.forEach((host, i) => parts.frontDoorOn!(host, i, socketAddress(SWARM_PROXY_FROM_HOST, app.hostPort), swarmApp.deployed));
    // Each node keeps the stack's last releases and prunes the rest, once the release is in place.
    const histories = hosts.map((host, i) => new ReleaseHistory(hostScoped(`${name}-releases`, i), { host, stack, imageRef: image.imageRef, keep: app.keepReleases }, { parent, dependsOn: swarmApp.deployed }));
    return {
        urls: parts.proxyImage ? hosts.map((host) => hostUrl(host, "0.0.0.0", app.hostPort)) : [],
        releaseCommandOutput: swarmApp.releaseOutput ?? pulumi.output(""),
        previousImageRef: histories[0].previous,
        releases: histories[0].releases,
        containers: swarmApp.serviceName.apply((service) => [service]),
        processes: pulumi.all(Object.fromEntries(Object.entries(swarmApp.roleServices).map(([role, service]) => [role, service.apply((s) => [s])]))),
        hostReleases: swarmApp.runningImage.apply((running): Record<string, string> => ({ swarm: running })),
    };
}
