/**
 * `npm run ingress -- status (--stack S | --host H)`: each host's front door (berth's Caddy on 80 and 443): whether it
 * runs, which stack claims which names, in maintenance or not, and the certificate each name is served with.
 * `npm run ingress -- remove --host H [--force]`: stops and removes a host's ingress (refused while a stack still has
 * names on it, unless --force); its volume stays, so certificates are not issued again (CA rate limits).
 */
import * as crypto from "crypto";
import { docker, DockerError } from "../components/docker/cli";
import { INGRESS_HOME, INGRESS_NAME, readIngress } from "../components/docker/providers/ingress";
import { claims, CaddyApps } from "../components/ingressConfig";
import { parseOptions, runMain, stackHosts, UsageError } from "./replicas";

const USAGE = "usage: npm run ingress -- status (--stack <stack> | --host <engine>) | remove --host <engine> [--force]";

export interface CertificateFacts {
    names: string[];
    validTo: Date;
    serial: string;
    issuer: string;
}

/** The certificates in PEM text (a chain's first, the server's, per block of blocks given), as status prints them. */
export function certificateFacts(pems: string[]): CertificateFacts[] {
    return pems.flatMap((pem) => {
        try {
            const cert = new crypto.X509Certificate(pem);
            const names = (cert.subjectAltName ?? "").split(", ").filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4));
            return [{ names, validTo: new Date(cert.validTo), serial: cert.serialNumber, issuer: cert.issuer.replace(/\n/g, ", ") }];
        } catch {
            return [];
        }
    });
}

/** The lines of one host's status: its ingress, then each stack's claim and the certificate of each name. */
export function statusLines(host: string, running: string, apps: CaddyApps | undefined, certificates: CertificateFacts[], now = new Date()): string[] {
    const lines = [`${host || "local engine"}: ingress ${running}`];
    for (const claim of apps ? claims(apps) : []) {
        lines.push(`  stack ${claim.stack}${claim.maintenance ? " (maintenance)" : ""}: ${claim.domains.join(", ")}${claim.pathPrefix ? ` under ${claim.pathPrefix}` : ""}`);
        for (const name of claim.domains) {
            const cert = certificates.filter((c) => c.names.includes(name)).sort((a, b) => b.validTo.getTime() - a.validTo.getTime())[0];
            const days = cert ? Math.floor((cert.validTo.getTime() - now.getTime()) / 86_400_000) : 0;
            lines.push(`    ${name}: ${cert ? `certificate valid to ${cert.validTo.toISOString()} (${days} days), serial ${cert.serial}, from ${cert.issuer}` : "no certificate (plain HTTP, or not issued yet)"}`);
        }
    }
    return lines;
}

/** The certificates the ingress holds: those it manages (on its volume) and those stacks loaded (tls manual). */
async function heldCertificates(host: string, apps: CaddyApps): Promise<CertificateFacts[]> {
    const script = `find ${INGRESS_HOME}/data/caddy/certificates -name '*.crt' 2>/dev/null | while read -r f; do cat "$f"; echo; echo '@@'; done`;
    const stored = (await docker(host, ["exec", INGRESS_NAME, "sh", "-c", script])).split("@@").filter((pem) => pem.includes("BEGIN CERTIFICATE"));
    const loaded = (apps.tls?.certificates?.load_pem ?? []).map((c) => c.certificate);
    return certificateFacts([...stored, ...loaded]);
}

async function status(hosts: string[]): Promise<void> {
    for (const host of hosts) {
        const state = await docker(host, ["inspect", "--format", "{{.State.Status}} {{if .State.Health}}({{.State.Health.Status}}) {{end}}since {{.State.StartedAt}}, image {{.Config.Image}}", INGRESS_NAME])
            .catch((err) => (err instanceof DockerError && /no such/i.test(err.stderr) ? "" : Promise.reject(err)));
        if (!state) {
            console.log(`${host || "local engine"}: no ingress (a stack with berth:domains makes it on its next up)`);
            continue;
        }
        const running = await readIngress(host);
        console.log(statusLines(host, state.trim(), running?.apps, running ? await heldCertificates(host, running.apps) : []).join("\n"));
    }
}

async function remove(host: string, force: boolean): Promise<void> {
    const running = await readIngress(host).catch(() => undefined);
    const held = running ? claims(running.apps) : [];
    if (held.length > 0 && !force) {
        throw new UsageError(`the ingress on ${host || "the local engine"} still serves ${held.map((c) => `stack ${c.stack} (${c.domains.join(", ")})`).join("; ")}: `
            + "remove berth:domains from those stacks (or destroy them) first, or pass --force to take their names offline");
    }
    await docker(host, ["rm", "--force", INGRESS_NAME]).catch((err) => {
        if (!(err instanceof DockerError && /no such/i.test(err.stderr))) throw err;
    });
    console.log(`${host || "local engine"}: ingress removed; its volume ${INGRESS_NAME} (certificates, ACME account) stays for the next one (docker volume rm ${INGRESS_NAME} to drop it)`);
}

async function main(): Promise<void> {
    const [command, ...argv] = process.argv.slice(2);
    const { options } = parseOptions(argv, { values: ["stack", "host"], flags: ["force"] });
    if (command === "status" && (options.stack !== undefined) !== (options.host !== undefined)) {
        return status(options.stack !== undefined ? stackHosts(options.stack) : [options.host!]);
    }
    if (command === "remove" && options.host !== undefined) return remove(options.host, options.force === true);
    throw new UsageError(USAGE);
}

// Run as `node tools/register-typescript.js scripts/<this>.ts …` (npm run …); imported by tests for its pure parts.
if (process.argv[1] === __filename) runMain(main);
