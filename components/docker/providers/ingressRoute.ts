// One stack's part of a host's front door: its names routed to its proxy, and how they get certificates.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { demultiplex, docker, DockerHost, engineApi } from "../cli";
import { changedKeys } from "../resource";
import { claimedBy, IngressSite, servesSite, withoutSite, withSite } from "../../ingressConfig";
import { tlsHash } from "./proxySite";
import { changeIngress, INGRESS_HOME, INGRESS_NAME, namesWithoutCertificate, readIngress } from "./ingress";

export interface IngressRouteInputs {
    host: DockerHost;
    /** The stack's site, without its certificate (that is `certificate`, a secret). */
    site: Omit<IngressSite, "certificate" | "acme"> & { acme?: { server: string; email: string } };
    /** With tls manual: the certificate (chain after it) and key, PEM; only their hash is recorded. */
    certificate?: { certificate: string; privateKey: string };
    /** PEM roots that verify a private ACME server's API ("": the system's). */
    acmeCaCertificates: string;
}

export type RecordedRoute = Omit<IngressRouteInputs, "certificate"> & { certificateHash: string };

/** How long `up` waits for a new name's certificate before failing with the ingress's own words about it. */
export const CERTIFICATE_TIMEOUT_SECONDS = 120;

/** Where a stack's trusted ACME roots are written in the ingress (on its volume, so they outlive a restart). */
export function rootsFile(stack: string): string {
    return `${INGRESS_HOME}/roots/${crypto.createHash("sha256").update(stack).digest("hex").slice(0, 16)}.pem`;
}

/** The full site as the ingress config takes it. */
export function fullSite(inputs: Pick<IngressRouteInputs, "site" | "certificate" | "acmeCaCertificates">): IngressSite {
    const { acme, ...site } = inputs.site;
    return {
        ...site,
        ...(acme ? { acme: { ...acme, trustedRoots: inputs.acmeCaCertificates ? [rootsFile(site.stack)] : [] } } : {}),
        ...(inputs.certificate ? { certificate: inputs.certificate } : {}),
    };
}

/** Refusal to take a name another stack holds on the same ingress. */
export function claimedMessage(host: DockerHost, stack: string, claim: { stack: string; domain: string }): string {
    return `${claim.domain} is already served by stack ${claim.stack} on ${host || "the local engine"}'s front door: stack ${stack} did not take it. `
        + `Remove it from one stack's berth:domains (or give them different berth:pathPrefix values).`;
}

/** What the ingress logged (JSON lines) about failing to get a certificate for one of `names`. */
export function issuanceErrors(log: string, names: string[]): string[] {
    return log.split("\n").flatMap((line) => {
        let entry: { level?: string; identifier?: string; error?: string; msg?: string };
        try {
            entry = JSON.parse(line);
        } catch {
            return [];
        }
        // A config load (another stack's route) cancels issuance under way; the new config starts it again at once.
        const interrupted = /context canceled/.test(entry.error ?? "");
        return entry.level === "error" && !interrupted && entry.identifier !== undefined && names.includes(entry.identifier)
            ? [`${entry.identifier}: ${entry.msg ?? "error"}: ${entry.error ?? ""}`.trim()] : [];
    });
}

async function ingressLog(host: DockerHost, since: number): Promise<string> {
    const raw = await engineApi(host, "GET", `/containers/${INGRESS_NAME}/logs?stdout=1&stderr=1&since=${since}`, undefined, 30_000, "raw");
    const { stdout, stderr } = demultiplex(raw);
    return `${stdout}\n${stderr}`;
}

/**
 * Waits for every name's certificate. Fails as soon as the ingress reports it could not get one (an unreachable CA,
 * a name that does not resolve here, a rate limit), with its words, or after CERTIFICATE_TIMEOUT_SECONDS. Other
 * names keep their certificates; a route that fails its first up is taken out again (provider.create).
 */
async function waitForCertificates(host: DockerHost, site: IngressSite): Promise<void> {
    if (site.tls === "off") return;
    const started = Math.floor(Date.now() / 1000) - 1;
    const deadline = Date.now() + CERTIFICATE_TIMEOUT_SECONDS * 1000;
    for (let missing = await namesWithoutCertificate(host, INGRESS_NAME, site.domains, "--resolve-loopback"); missing.length > 0; missing = await namesWithoutCertificate(host, INGRESS_NAME, site.domains, "--resolve-loopback")) {
        const errors = issuanceErrors(await ingressLog(host, started).catch(() => ""), missing);
        if (errors.length > 0 || Date.now() > deadline) {
            throw new Error(`${host || "the local engine"}: no certificate for ${missing.join(", ")} from ${site.acme?.server ?? "the stack's certificate"}`
                + `${errors.length > 0 ? "" : ` within ${CERTIFICATE_TIMEOUT_SECONDS}s`}. Other names keep their certificates; `
                + "the next up tries again. Check that the names resolve to this host, that its port 80 is reachable from the CA, and that the CA answers."
                + (errors.length > 0 ? `\nthe ingress said:\n${[...new Set(errors)].slice(-3).join("\n")}` : ""));
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
    }
}

async function writeRoots(inputs: IngressRouteInputs): Promise<void> {
    if (!inputs.site.acme || !inputs.acmeCaCertificates) return;
    const file = rootsFile(inputs.site.stack);
    await docker(inputs.host, ["exec", "-i", INGRESS_NAME, "sh", "-c", `mkdir -p ${INGRESS_HOME}/roots && cat > ${file}.new && mv ${file}.new ${file}`], { stdin: inputs.acmeCaCertificates });
}

async function apply(inputs: IngressRouteInputs): Promise<RecordedRoute> {
    const site = fullSite(inputs);
    await writeRoots(inputs);
    await changeIngress(inputs.host, (apps) => {
        const claim = claimedBy(apps, site);
        if (claim) throw new Error(claimedMessage(inputs.host, site.stack, claim));
        return withSite(apps, site);
    });
    await waitForCertificates(inputs.host, site);
    return recorded(inputs);
}

function recorded(inputs: IngressRouteInputs): RecordedRoute {
    const { certificate, ...rest } = inputs;
    return { ...rest, certificateHash: tlsHash(certificate) };
}

/** Whether the running ingress still has the route (and certificate policy) as recorded: one removed by hand is drift. */
async function drifted(olds: RecordedRoute): Promise<boolean> {
    const running = await readIngress(olds.host);
    if (!running) return true;
    // The certificate itself is not in state: compare the loaded one's hash with the recorded hash instead.
    const loaded = running.apps.tls?.certificates?.load_pem?.find((c) => c.tags?.includes(`berth-${olds.site.stack}`));
    const certificate = loaded ? { certificate: loaded.certificate, privateKey: loaded.key } : undefined;
    if (tlsHash(certificate) !== olds.certificateHash) return true;
    return !servesSite(running.apps, fullSite({ ...olds, certificate }));
}

const keys = ["host", "site", "acmeCaCertificates", "certificateHash"] as const;

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: IngressRouteInputs) {
        try {
            return { id: `${inputs.host || "local"}/${inputs.site.stack}`, outs: await apply(inputs) };
        } catch (err) {
            // Not recorded in state, so `destroy` would not know it: a route that failed its first up goes again.
            await changeIngress(inputs.host, (apps) => withoutSite(apps, inputs.site.stack)).catch(() => undefined);
            throw err;
        }
    },
    async diff(_id: string, olds: RecordedRoute, news: IngressRouteInputs) {
        if (changedKeys(olds, recorded(news), keys).length > 0) return { changes: true };
        return { changes: await drifted(olds) };
    },
    async update(_id: string, _olds: RecordedRoute, news: IngressRouteInputs) {
        return { outs: await apply(news) };
    },
    async read(id: string, props: RecordedRoute) {
        return { id, props };
    },
    async delete(_id: string, props: RecordedRoute) {
        if (!(await readIngress(props.host).catch(() => undefined))) return;
        await changeIngress(props.host, (apps) => withoutSite(apps, props.site.stack));
    },
};
