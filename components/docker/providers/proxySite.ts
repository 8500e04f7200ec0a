import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { docker, DockerError, DockerHost } from "../cli";
import type { EdgeSettings } from "../../config";
import { changedKeys } from "../resource";
import { BERTH_DIR, proxyReadBack, replaceAndReload } from "./nginx";

export interface ProxySiteInputs {
    host: DockerHost;
    /** The running proxy container (berth's nginx image). */
    proxy: string;
    edge: EdgeSettings;
    /** The certificate (PEM, chain after it) and its key, with HTTPS; only their hash is recorded. */
    tls?: { certificate: string; privateKey: string };
    /** Behind the host's front door: the address its requests come from, whose X-Forwarded-Proto is passed on. */
    frontDoor?: string;
}

/** What state keeps: no certificate or key, their hash; and the site id the proxy answered when last read. */
export type RecordedSite = Omit<ProxySiteInputs, "tls"> & { tlsHash: string; served: string };

const TLS_DIR = `${BERTH_DIR}/tls`;

/** http-level directives and, with HTTPS, the TLS server in front of the app (site.conf). */
export function siteConfig(edge: EdgeSettings): string {
    const lines = [`keepalive_timeout ${edge.keepAliveSeconds}s;`, `client_max_body_size ${edge.maxBodySize};`];
    if (edge.httpsPort > 0) {
        lines.push(
            "server {",
            // The container's HTTPS address and port (the image's start script writes it from its environment).
            `    include ${BERTH_DIR}/listen-https.conf;`,
            `    ssl_certificate ${TLS_DIR}/certificate.pem;`,
            `    ssl_certificate_key ${TLS_DIR}/private-key.pem;`,
            "    ssl_protocols TLSv1.2 TLSv1.3;",
            "    ssl_session_cache shared:berth_tls:10m;",
            // Headers declared here replace the http level's: the pin cookie of a canary (release.conf) too.
            "    add_header Set-Cookie $berth_pin;",
            ...(edge.hsts ? ['    add_header Strict-Transport-Security "max-age=31536000" always;'] : []),
            "    include /etc/nginx/app.conf;",
            "}",
        );
    }
    return `${lines.join("\n")}\n`;
}

/** The plain-HTTP server's part (http.conf): the site's id, and the app or, with HTTPS, a permanent redirect to it. */
export function httpConfig(edge: EdgeSettings, id: string): string {
    const port = edge.httpsPort === 443 ? "" : `:${edge.httpsPort}`;
    // 308, not 301: a redirected POST stays a POST.
    const app = edge.httpsPort > 0 ? `location / {\n    return 308 https://$host${port}$request_uri;\n}` : "include /etc/nginx/app.conf;";
    return `location = /__berth/site {\n    return 200 "${id}\\n";\n}\n${app}\n`;
}

export function tlsHash(tls: ProxySiteInputs["tls"]): string {
    return tls ? crypto.createHash("sha256").update(tls.certificate).update("\0").update(tls.privateKey).digest("hex") : "";
}

/**
 * The addresses whose X-Forwarded-Proto nginx passes on as the scheme (a map's entries, trusted-proxy.conf): the
 * front door's, when the stack is behind it; else none, and the scheme is the proxy's own.
 */
export function trustedProxyConfig(frontDoor: string | undefined): string {
    return frontDoor ? `${frontDoor} $http_x_forwarded_proto;\n` : "";
}

/** Names what the proxy serves: its edge, its certificate (by hash), the front door it trusts; answered at /__berth/site. */
export function siteId(edge: EdgeSettings, hash: string, frontDoor?: string): string {
    const id = crypto.createHash("sha256").update(siteConfig(edge)).update(hash);
    if (frontDoor) id.update(trustedProxyConfig(frontDoor));
    return id.digest("hex").slice(0, 16);
}

/**
 * The script run in the proxy: stdin carries the files base64-encoded, one per line (certificate, key, site.conf,
 * http.conf), so the key never appears on a command line; the key is readable by root alone.
 */
export function applyScript(id: string): string {
    const files = [`${TLS_DIR}/certificate.pem`, `${TLS_DIR}/private-key.pem`, `${BERTH_DIR}/site.conf`, `${BERTH_DIR}/http.conf`, `${BERTH_DIR}/trusted-proxy.conf`];
    return [
        `mkdir -p -m 700 ${TLS_DIR}`,
        `touch ${files.join(" ")}`,
        replaceAndReload(files, [
            "umask 077",
            ...files.map((file) => `read -r line; printf '%s' "$line" | base64 -d > ${file}`),
        ], "/__berth/site", id),
    ].join("\n");
}

/** The files' contents in applyScript's order, base64 lines. */
function payload(inputs: ProxySiteInputs, id: string): string {
    const files = [inputs.tls?.certificate ?? "", inputs.tls?.privateKey ?? "", siteConfig(inputs.edge), httpConfig(inputs.edge, id), trustedProxyConfig(inputs.frontDoor)];
    return files.map((text) => Buffer.from(text).toString("base64")).join("\n") + "\n";
}

async function apply(inputs: ProxySiteInputs): Promise<RecordedSite> {
    const hash = tlsHash(inputs.tls);
    const id = siteId(inputs.edge, hash, inputs.frontDoor);
    await docker(inputs.host, ["exec", "-i", inputs.proxy, "bash", "-c", `set -e\n${applyScript(id)}`], { stdin: payload(inputs, id) });
    return recorded(inputs);
}

function recorded(inputs: ProxySiteInputs): RecordedSite {
    const { tls, ...rest } = inputs;
    const hash = tlsHash(tls);
    return { ...rest, tlsHash: hash, served: siteId(inputs.edge, hash, inputs.frontDoor) };
}

/** The site id the running proxy answers; the recorded one when the proxy is not running (the container's drift). */
async function servedSite(props: RecordedSite): Promise<string> {
    try {
        return (await proxyReadBack(props.host, props.proxy, "site")).site?.trim().split("\n").pop() ?? "";
    } catch (err) {
        if (err instanceof DockerError && /no such container|is not running|is restarting/i.test(err.stderr)) return siteId(props.edge, props.tlsHash, props.frontDoor);
        throw err;
    }
}

const keys = ["host", "proxy", "edge", "tlsHash", "frontDoor"] as const;

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: ProxySiteInputs) {
        return { id: `${inputs.proxy}-site`, outs: await apply(inputs) };
    },
    async diff(_id: string, olds: RecordedSite, news: ProxySiteInputs) {
        if (changedKeys(olds, recorded(news), keys).length > 0) return { changes: true };
        // Same site declared: does the proxy still serve it? (A proxy recreated by hand serves the image's default.)
        return { changes: (await servedSite(olds)) !== siteId(olds.edge, olds.tlsHash, olds.frontDoor) };
    },
    async update(_id: string, _olds: RecordedSite, news: ProxySiteInputs) {
        return { outs: await apply(news) };
    },
    async read(id: string, props: RecordedSite) {
        return { id, props: { ...props, served: await servedSite(props) } };
    },
    // The site lives in the proxy container and goes with it.
    async delete() {},
};
