import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { EdgeSettings, IngressSettings, LogRotation, MEMORY_UNITS } from "./config";
import { IngressContainer, IngressRoute, IngressRouteInputs } from "./docker/ingress";
import type { RegistryLogin } from "./docker/providers/image";
import { berthImage, BerthImageArgs } from "./webProxy";

/** Where every host's front door listens (the ACME HTTP-01 challenge comes to 80; browsers to 443). */
export const INGRESS_PORTS = { http: 80, https: 443 } as const;

export interface IngressArgs {
    host: string;
    stack: string;
    /** berth's ingress image (ingressImage), used where the host has no ingress yet. */
    image: pulumi.Input<string>;
    pullLogin?: pulumi.Input<RegistryLogin>;
    settings: IngressSettings;
    /** Where the stack's proxy listens on the host (`127.0.0.1:8080`): the ingress passes the stack's requests there. */
    upstream: string;
    /** HSTS and the body limit, as the stack's proxy applies them. */
    edge: EdgeSettings;
    /** With tls manual: the stack's certificate and key. */
    certificate?: pulumi.Input<{ certificate: string; privateKey: string }>;
    logRotation: LogRotation;
}

/** nginx's size notation (`25m`; `0`: none) in bytes, as Caddy's request_body takes it. */
export function bodyBytes(size: string): number {
    const match = /^([0-9]+)([kmg])?$/i.exec(size)!;
    return Number(match[1]) * (match[2] ? MEMORY_UNITS[match[2].toLowerCase()] : 1);
}

/** What the stack asks of a host's ingress (its certificate aside). */
export function ingressSite(stack: string, settings: IngressSettings, upstream: string, edge: EdgeSettings): IngressRouteInputs["site"] {
    return {
        stack,
        domains: settings.domains,
        pathPrefix: settings.pathPrefix,
        upstream,
        tls: settings.tls,
        ...(settings.tls === "acme" ? { acme: { server: settings.acme.server, email: settings.acme.email } } : {}),
        maintenance: settings.maintenance,
        hsts: edge.hsts,
        maxBodyBytes: bodyBytes(edge.maxBodySize),
    };
}

/** The stack's addresses on the front door: each name (a wildcard's stays as written), under its path prefix. */
export function ingressUrls(settings: IngressSettings): string[] {
    const scheme = settings.tls === "off" ? "http" : "https";
    return settings.domains.map((name) => `${scheme}://${name}${settings.pathPrefix}/`);
}

const INGRESS_CONTEXT = path.join(__dirname, "..", "images", "ingress");

/** The version-revision an ingress image carries, from its Dockerfile's ARG defaults (their one place). */
export function ingressVersion(dockerfile = fs.readFileSync(path.join(INGRESS_CONTEXT, "Dockerfile"), "utf8")): string {
    const arg = (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, "m").exec(dockerfile)?.[1];
    const [caddy, revision] = [arg("CADDY_VERSION"), arg("INGRESS_REVISION")];
    if (!caddy || !revision) throw new Error("images/ingress/Dockerfile declares no ARG CADDY_VERSION=… and ARG INGRESS_REVISION=…");
    return `${caddy}-${revision}`;
}

/** berth's Caddy image for the front door (images/ingress). */
export function ingressImage(name: string, args: BerthImageArgs, opts: pulumi.CustomResourceOptions) {
    return berthImage(name, INGRESS_CONTEXT, "berth/ingress", args, opts);
}

/**
 * A stack's names on one host's front door: the host's shared ingress (made if the host has none; never removed by a
 * stack) and the stack's route through it to the stack's own proxy. Releases change only the proxy's upstreams, so
 * the front door's connections to clients (keep-alive, HTTP/2) live through them.
 */
export class Ingress extends pulumi.ComponentResource {
    constructor(name: string, args: IngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:service:Ingress", name, {}, opts);
        const container = new IngressContainer(`${name}-container`, {
            host: args.host,
            image: args.image,
            version: ingressVersion(),
            httpPort: INGRESS_PORTS.http,
            httpsPort: INGRESS_PORTS.https,
            logRotation: args.logRotation,
            registry: args.pullLogin,
        }, { parent: this });
        new IngressRoute(`${name}-route`, {
            host: args.host,
            site: ingressSite(args.stack, args.settings, args.upstream, args.edge),
            certificate: args.certificate,
            acmeCaCertificates: args.settings.acme.caCertificates,
        }, { parent: this, dependsOn: [container] });
        this.registerOutputs({});
    }
}
