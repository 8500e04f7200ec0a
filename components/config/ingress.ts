// The stack's names on its hosts' shared front door (berth:domains and the keys beside it): each value checked
// against the grammar of the place it lands (a Host matcher and certificate subject, a path matcher, an ACME URL).
import * as crypto from "crypto";
import { ConfigError, ConfigErrors, ErrorCollector } from "./errors";
import { parseBoolean, parseChoice, parseJson, required } from "./fields";
import type { AppSettings, ConfigSource, IngressSettings, Orchestrator } from "./types";
import { TLS_MODES } from "./types";

/** One DNS label: letters, digits and inner dashes, at most 63 characters (RFC 1123), lowercase as certificates carry it. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A name the ingress answers for and a certificate covers: two or more labels, lowercase, at most 253 characters;
 * a wildcard only as the whole first label (`*.staging.example.com`), as certificates allow.
 */
export function domainProblem(name: string): string | undefined {
    if (typeof name !== "string" || name === "") return "use a host name such as shop.example.com";
    if (name !== name.toLowerCase()) return `use lowercase (${name.toLowerCase()}): names are matched and certified in lowercase`;
    if (name.length > 253) return "a host name has at most 253 characters";
    const labels = name.split(".");
    const [first, ...rest] = labels;
    if (rest.length < 1) return "use a fully qualified name with a dot, such as shop.example.com";
    if (first === "*" && rest.length < 2) return "a wildcard covers one label under a name of two or more (*.staging.example.com)";
    const bad = labels.find((label, i) => !(i === 0 && label === "*") && !LABEL.test(label));
    if (bad !== undefined) return `the label "${bad}" is not a DNS label: letters, digits and inner dashes, 1-63 characters; a wildcard only as the whole first label (*.example.com)`;
    return undefined;
}

export function parseDomains(key: string, value: unknown): string[] {
    if (!Array.isArray(value)) throw new ConfigError(key, value, "use a list of host names, e.g. [shop.example.com, www.shop.example.com]");
    const errors = value.flatMap((name, i) => {
        const problem = domainProblem(name);
        return problem ? [new ConfigError(`${key}[${i}]`, name, problem)] : [];
    });
    const repeated = value.find((name, i) => value.indexOf(name) !== i);
    if (repeated !== undefined) errors.push(new ConfigError(key, repeated, "the name is listed twice"));
    if (errors.length > 0) throw new ConfigErrors(errors);
    return value;
}

/** A path prefix as Caddy's path matcher takes it: segments of URL-safe characters, no wildcard, no trailing slash. */
export function parsePathPrefix(key: string, value: string): string {
    if (value !== "" && !/^(\/[A-Za-z0-9._~-]+)+$/.test(value)) {
        throw new ConfigError(key, value, "use a path such as /api or /shop/v2 (segments of letters, digits and . _ ~ -, no trailing slash), or empty for every path");
    }
    return value;
}

/** An ACME directory: an https URL without credentials. */
export function parseAcmeServer(key: string, value: string): string {
    let url: URL | undefined;
    try {
        url = new URL(value);
    } catch {
        url = undefined;
    }
    if (!url || url.protocol !== "https:" || url.username !== "" || url.password !== "" || /\s/.test(value)) {
        throw new ConfigError(key, value, "use an ACME directory URL over https, e.g. https://acme-v02.api.letsencrypt.org/directory");
    }
    return value;
}

/** The ACME account's contact: empty, or an address (the CA writes to it before a certificate expires unrenewed). */
export function parseAcmeEmail(key: string, value: string): string {
    if (value !== "" && !/^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(value)) {
        throw new ConfigError(key, value, "use an email address such as ops@example.com, or empty for none");
    }
    return value;
}

/** PEM certificates of a private ACME server's API CA (step-ca, a test CA): each must parse. */
export function parseCaCertificates(key: string, value: string): string {
    if (value === "") return value;
    const blocks = value.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    const unreadable = blocks.length === 0 || blocks.some((pem) => {
        try {
            new crypto.X509Certificate(pem);
            return false;
        } catch {
            return true;
        }
    });
    if (unreadable) throw new ConfigError(key, "(PEM text)", "use PEM certificates (-----BEGIN CERTIFICATE----- …) of the CA that signs the ACME server's https certificate");
    return value;
}

/** The stack's ingress settings, or undefined when it declares no names (it then serves on its own ports, as always). */
export function parseIngress(source: ConfigSource): IngressSettings | undefined {
    const c = new ErrorCollector();
    const domains = c.take(() => parseDomains("domains", parseJson("domains", source("domains"), [])), undefined);
    if (domains?.length === 0) {
        if (source("maintenance") === "true") c.take(() => {
            throw new ConfigError("maintenance", true, "maintenance is answered by the front door for the stack's names: set berth:domains too");
        }, undefined);
        c.throwIfAny();
        return undefined;
    }
    // Names given but refused: the keys beside them are still checked, so one run names every problem.
    const settings: IngressSettings = {
        domains: domains ?? [],
        pathPrefix: c.take(() => parsePathPrefix("pathPrefix", source("pathPrefix") ?? ""), ""),
        tls: c.take(() => parseChoice("tls", required(source, "tls"), TLS_MODES), "acme"),
        acme: {
            server: c.take(() => parseAcmeServer("acmeServer", required(source, "acmeServer")), ""),
            email: c.take(() => parseAcmeEmail("acmeEmail", source("acmeEmail") ?? ""), ""),
            caCertificates: c.take(() => parseCaCertificates("acmeCaCertificates", source("acmeCaCertificates") ?? ""), ""),
        },
        maintenance: c.take(() => parseBoolean("maintenance", required(source, "maintenance")), false),
    };
    c.throwIfAny();
    return settings;
}

/** What the front door needs of the rest of the stack; every conflict at once. */
export function checkIngress(ingress: IngressSettings, app: Pick<AppSettings, "proxy" | "hostPort" | "edge">, orchestrator: Orchestrator, hosts: number): void {
    const c = new ErrorCollector();
    const refuse = (key: string, value: unknown, allowed: string) => c.take(() => {
        throw new ConfigError(key, value, allowed);
    }, undefined);
    const wildcard = ingress.domains.find((name) => name.startsWith("*."));
    if (ingress.tls === "acme" && wildcard !== undefined) {
        refuse("domains", wildcard, "ACME's HTTP-01 challenge cannot prove a wildcard: list the names (ACME issues each its certificate), or set berth:tls manual with a wildcard certificate");
    }
    if (orchestrator === "swarm" && hosts > 1 && ingress.tls === "acme") {
        refuse("tls", "acme", `on a swarm of ${hosts} nodes each node's front door answers the names, and each would ask the CA on its own while the CA's HTTP-01 challenge may reach another node (they share no certificate storage): `
            + "set berth:tls manual with your certificate (every node serves it), or use berth:orchestrator hosts, where each host gets its own");
    }
    if (!app.proxy || app.hostPort === 0) {
        refuse(app.proxy ? "hostPort" : "proxy", app.proxy ? app.hostPort : false, "the front door passes requests to the stack's proxy on the host: set berth:proxy true and a hostPort");
    }
    if (app.edge.httpsPort > 0) {
        refuse("httpsPort", app.edge.httpsPort, "with berth:domains the front door serves HTTPS on 443 (berth:tls): set httpsPort 0");
    }
    c.throwIfAny();
}

/** A manual certificate must cover every name the stack claims (a browser refuses one that does not). */
export function checkCertificateCovers(certificate: string, domains: string[]): void {
    const cert = new crypto.X509Certificate(certificate);
    // checkHost takes a wildcard certificate's name for names under it; a wildcard claim is covered by the same wildcard.
    const uncovered = domains.filter((name) => cert.checkHost(name.replace(/^\*\./, "x.")) === undefined);
    if (uncovered.length > 0) {
        throw new ConfigError("tlsCertificate", `(secret: certificate for ${cert.subjectAltName ?? cert.subject})`, `it does not cover ${uncovered.join(", ")} of berth:domains`);
    }
}
