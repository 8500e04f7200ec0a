import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import * as tls from "tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selfSignedCertificate, TestCertificate } from "../certificates";
import { startLoad } from "../load";
import { appCopy, containerIds, freePort, http, ThrowawayStack, throwawayStack } from "./harness";

interface Answer {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
    /** SHA-256 fingerprint of the certificate the server presented. */
    fingerprint: string;
}

/** One HTTPS request on a fresh connection, trusting `ca` only. */
function httpsRequest(url: string, ca: string[], method = "GET", body?: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const request = https.request(url, { method, ca, agent: false, timeout: 10_000 }, (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk) => chunks.push(chunk));
            response.on("end", () => resolve({
                status: response.statusCode ?? 0,
                headers: response.headers,
                body: Buffer.concat(chunks).toString(),
                fingerprint: (response.socket as tls.TLSSocket).getPeerCertificate().fingerprint256 ?? "",
            }));
        });
        request.on("timeout", () => request.destroy(new Error("timeout")));
        request.on("error", reject);
        request.end(body);
    });
}

const fingerprintOf = (pem: string) => new crypto.X509Certificate(pem).fingerprint256;

/**
 * HTTPS at berth's proxy (local engine): the stack's certificate from secrets, the redirect, HSTS, forwarded
 * headers, WebSocket upgrades, the body limit, and a certificate renewal under load.
 */
describe("HTTPS and what apps behind berth's proxy expect", () => {
    let env: ThrowawayStack;
    let httpsUrl: string;
    let plainUrl: string;
    let httpsPort: number;
    let current: TestCertificate;
    const context = appCopy();
    const ca = () => [current.certificate];

    beforeAll(async () => {
        current = selfSignedCertificate("localhost");
        httpsPort = await freePort();
        env = await throwawayStack(
            { appContext: context, replicas: "2", httpsPort: String(httpsPort), hsts: "true", maxBodySize: "1m" },
            { tlsCertificate: current.certificate, tlsPrivateKey: current.privateKey },
        );
        const outputs = (await env.stack.up({ color: "never" })).outputs;
        httpsUrl = outputs.url.value;
        plainUrl = `http://127.0.0.1:${(await env.stack.getConfig("berth:hostPort")).value}`;
    });
    afterAll(async () => {
        await env?.remove();
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("serves the app over HTTPS with the stack's certificate and HSTS, and redirects plain HTTP there", async () => {
        expect(httpsUrl).toBe(`https://127.0.0.1:${httpsPort}`);
        const answer = await httpsRequest(`${httpsUrl}/`, ca());
        expect(answer.status).toBe(200);
        expect(answer.fingerprint).toBe(fingerprintOf(current.certificate));
        expect(answer.headers["strict-transport-security"]).toBe("max-age=31536000");
        const redirect = await fetch(`${plainUrl}/rows?page=2`, { method: "POST", redirect: "manual" });
        expect(redirect.status).toBe(308);
        expect(redirect.headers.get("location")).toBe(`https://127.0.0.1:${httpsPort}/rows?page=2`);
        // berth's own endpoints stay on plain HTTP inside the proxy.
        expect((await http("GET", `${plainUrl}/__berth/health`)).status).toBe(200);
    });

    it("tells the app the client's scheme, host and address", async () => {
        const seen = JSON.parse((await httpsRequest(`${httpsUrl}/request`, ca())).body);
        expect(seen.proto).toBe("https");
        expect(seen.host).toBe("127.0.0.1");
        expect(seen.forwardedFor).toMatch(/^[0-9.]+$/);
    });

    it("passes WebSocket upgrades through, over TLS", async () => {
        const socket = tls.connect({ host: "127.0.0.1", port: httpsPort, ca: ca(), servername: "localhost" });
        let seen = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk) => {
            seen += chunk;
            if (seen.includes("\r\n\r\n") && !seen.includes("ping")) socket.write("ping");
        });
        socket.on("secureConnect", () => socket.write("GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
        const deadline = Date.now() + 10_000;
        while (!seen.endsWith("ping") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        socket.destroy();
        expect(seen).toMatch(/^HTTP\/1\.1 101 /);
        expect(seen.endsWith("ping")).toBe(true);
    });

    it("passes bodies up to berth:maxBodySize intact and refuses larger ones with 413", async () => {
        const small = await httpsRequest(`${httpsUrl}/request`, ca(), "POST", Buffer.alloc(900 * 1024, "x"));
        expect(JSON.parse(small.body).bytes).toBe(900 * 1024);
        expect((await httpsRequest(`${httpsUrl}/request`, ca(), "POST", Buffer.alloc(2 * 1024 * 1024, "x"))).status).toBe(413);
    });

    it("keeps the certificate and key out of state in plaintext, and a second up changes nothing", async () => {
        // The state file as the backend keeps it (exportStack would decrypt); a match is not printed.
        const backend = env.envVars.PULUMI_BACKEND_URL.replace("file://", "");
        const file = execFileSync("find", [backend, "-name", `${env.name}.json`], { encoding: "utf8" }).trim().split("\n")[0];
        const state = fs.readFileSync(file, "utf8");
        expect(state.includes("ProxySite")).toBe(true);
        expect(state.includes(current.privateKey.split("\n")[1])).toBe(false);
        expect(state.includes(current.certificate.split("\n")[1])).toBe(false);
        const result = await env.stack.up({ color: "never" });
        expect(Object.keys(result.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
    });

    it("refuses a key that is not the certificate's at preview, naming the key and changing nothing", async () => {
        const other = selfSignedCertificate("localhost");
        await env.stack.setConfig("berth:tlsPrivateKey", { value: other.privateKey, secret: true });
        try {
            await expect(env.stack.preview({ color: "never" })).rejects.toThrow(/invalid config berth:tlsPrivateKey = "\(secret\)": it is not the key of berth:tlsCertificate/);
        } finally {
            await env.stack.setConfig("berth:tlsPrivateKey", { value: current.privateKey, secret: true });
        }
        expect((await httpsRequest(`${httpsUrl}/`, ca())).fingerprint).toBe(fingerprintOf(current.certificate));
    });

    it("renews the certificate by a config edit, with a release in the same up, under HTTPS load with no failed request", async () => {
        const renewed = selfSignedCertificate("localhost");
        const proxyBefore = Object.entries(containerIds(env.name)).filter(([name]) => name.includes("-proxy-"));
        await env.stack.setConfig("berth:tlsCertificate", { value: renewed.certificate, secret: true });
        await env.stack.setConfig("berth:tlsPrivateKey", { value: renewed.privateKey, secret: true });
        fs.appendFileSync(path.join(context, "server.js"), `\n// release ${Date.now()}\n`);
        const load = startLoad(`${httpsUrl}/`, 4, 300, { ca: [current.certificate, renewed.certificate] });
        try {
            await env.stack.up({ color: "never" });
            await new Promise((resolve) => setTimeout(resolve, 1000));
        } finally {
            const result = await load.stop();
            console.log(`certificate renewal + release over HTTPS: ${result.total} requests, failures`, result.failures);
            expect(result.failures).toEqual({});
            expect(result.total).toBeGreaterThan(200);
        }
        current = renewed;
        expect((await httpsRequest(`${httpsUrl}/`, ca())).fingerprint).toBe(fingerprintOf(renewed.certificate));
        expect(Object.entries(containerIds(env.name)).filter(([name]) => name.includes("-proxy-"))).toEqual(proxyBefore);
    });

    it("keeps client connections alive when berth:keepAliveSeconds asks, by reloading the proxy's site only", async () => {
        await env.stack.setConfig("berth:keepAliveSeconds", { value: "15" });
        const result = await env.stack.up({ color: "never" });
        expect(result.summary.resourceChanges?.update).toBe(1);
        expect(Object.keys(result.summary.resourceChanges ?? {}).filter((k) => k !== "same" && k !== "update")).toEqual([]);
        const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ca() });
        const socketOf = () => new Promise<unknown>((resolve, reject) => {
            https.get(`${httpsUrl}/`, { agent }, (response) => {
                response.resume();
                response.on("end", () => resolve(response.socket));
            }).on("error", reject);
        });
        const first = await socketOf();
        expect(await socketOf()).toBe(first);
        agent.destroy();
    });
});
