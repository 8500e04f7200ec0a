import { spawnSync } from "child_process";
import { selfSignedCertificate } from "../certificates";
import { ingressVersion } from "../../components/ingress";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "../load";
import { cleanHosts, dockerAt, requestByName, hostServices, projectRoot, setObjectConfig, startOlderIngress, testAcme, testHosts, testHostsCa, ThrowawayStack, throwawayStack } from "./harness";

/** pebble's certificates live this long here: short enough to see the ingress renew one within the test. */
const VALIDITY_SECONDS = 180;
/** h1's address, where the ACME server's DNS sends every .test name. */
const H1 = "192.168.240.11";

/** One request to h1's front door by name. */
const request = (url: string, roots: string) => requestByName(url, roots, H1);

/** Polls `done` every half second for up to 30 s. */
async function waitFor(done: () => boolean): Promise<void> {
    for (let tries = 0; tries < 60; tries++) {
        try {
            if (done()) return;
        } catch {
            // not yet
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error("gave up waiting");
}

/** The serial of the certificate h1's front door serves for `name` (checked against pebble's roots). */
const servedSerial = (name: string) => request(`https://${name}/`, testAcme!.roots).serial;

/**
 * The front door (issue: many apps on one host's 443 by name, certificates from ACME): two stacks on test host h1
 * behind its shared Caddy, each with its own certificate from pebble (the test hosts' ACME server, on a host of its own).
 */
describe("the front door on a test host", () => {
    let engines: string[];
    let shop: ThrowawayStack;
    let blog: ThrowawayStack;
    const tag = crypto.randomBytes(3).toString("hex");
    const shopName = `shop-${tag}.test`;
    const blogName = `blog-${tag}.test`;
    const frontDoor = (domains: string[]) => ({
        hosts: [engines[0]], services: hostServices, domains,
        acmeServer: testAcme!.directory, acmeCaCertificates: testHostsCa(), acmeEmail: "ops@example.com",
    });


    beforeAll(async () => {
        engines = await testHosts(3, { acmeValiditySeconds: VALIDITY_SECONDS });
        // Two apps: each its own image path and containers.
        [shop, blog] = await Promise.all([throwawayStack(frontDoor([shopName])), throwawayStack({ ...frontDoor([blogName]), app: "blog" })]);
        // Both at once: each writes its own route into the one ingress, neither loses the other's.
        await Promise.all([shop.stack.up({ color: "never" }), blog.stack.up({ color: "never" })]);
    });

    afterAll(async () => {
        await Promise.all([shop?.remove(), blog?.remove()]);
        if (engines) for (const stack of [shop, blog]) if (stack) cleanHosts([engines[0]], stack.name);
    });

    it("serves both stacks on h1's 443 by name, each with its own certificate from the ACME server, and redirects plain HTTP", async () => {
        for (const [stack, name] of [[shop, shopName], [blog, blogName]] as const) {
            const answer = request(`https://${name}/`, testAcme!.roots);
            expect(answer.status, name).toBe(200);
            expect(JSON.parse(answer.body).version).toBeTruthy();
            expect((await stack.stack.outputs()).urls.value).toEqual([`https://${name}/`]);
            const plain = request(`http://${name}/some/path?q=1`, testAcme!.roots);
            expect([plain.status, plain.location]).toEqual([308, `https://${name}/some/path?q=1`]);
        }
        expect(servedSerial(shopName)).not.toEqual(servedSerial(blogName));
        // The app learns the client's scheme and name through both proxies.
        expect(JSON.parse(request(`https://${shopName}/request`, testAcme!.roots).body)).toMatchObject({ proto: "https", host: shopName });
        // A name nobody claims gets a 404 over plain HTTP (no certificate is made for it).
        expect(request(`http://nobody-${tag}.test/`, testAcme!.roots).status).toBe(404);
        // One ingress on the host, owned by no stack.
        expect(dockerAt(engines[0], "ps", "--filter", "label=berth.role=ingress", "--format", "{{.Names}}/{{.Label \"berth.stack\"}}")).toBe("berth-ingress/");
    });

    it("passes WebSocket upgrades through both proxies, over TLS", async () => {
        const socket = tls.connect({ host: H1, port: 443, ca: [testAcme!.roots], servername: shopName });
        let seen = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk) => {
            seen += chunk;
            if (seen.includes("\r\n\r\n") && !seen.includes("ping")) socket.write("ping");
        });
        socket.on("secureConnect", () => socket.write(`GET /echo HTTP/1.1\r\nHost: ${shopName}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`));
        const deadline = Date.now() + 10_000;
        while (!seen.endsWith("ping") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        socket.destroy();
        expect(seen).toMatch(/^HTTP\/1\.1 101 /);
        expect(seen.endsWith("ping")).toBe(true);
    });

    it("a branch stack gets a name instead of a port, and its own certificate, beside the two apps", async () => {
        const backend = fs.mkdtempSync(path.join(os.tmpdir(), "berth-branch-"));
        const env = { ...process.env, PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "front-door", PULUMI_CONFIG_PASSPHRASE_FILE: "", PULUMI_NODEJS_TRANSPILE_ONLY: "true" };
        const branchName = `feature/Door-${tag}`;
        const branch = (...args: string[]) => spawnSync("npm", ["run", "--silent", "branch", "--", ...args], { cwd: projectRoot, env, encoding: "utf8" });
        try {
            const sets = {
                hosts: JSON.stringify([engines[0]]), services: JSON.stringify(hostServices), domains: JSON.stringify([`{branch}.staging-${tag}.test`]),
                acmeServer: testAcme!.directory, acmeCaCertificates: JSON.stringify(testHostsCa()),
            };
            const up = branch("up", branchName, ...Object.entries(sets).flatMap(([key, value]) => ["--set", `${key}=${value}`]));
            const name = `feature-door-${tag}.staging-${tag}.test`;
            expect(up.stderr + up.stdout).toContain(`answers at https://${name}/`);
            expect(up.status, up.stderr).toBe(0);
            expect(request(`https://${name}/`, testAcme!.roots).status).toBe(200);
            expect(new Set([servedSerial(name), servedSerial(shopName), servedSerial(blogName)]).size).toBe(3);
            const down = branch("down", branchName);
            expect(down.status, down.stderr).toBe(0);
            expect(request(`http://${name}/`, testAcme!.roots).status).toBe(404);
        } finally {
            fs.rmSync(backend, { recursive: true, force: true });
            fs.rmSync(path.join(projectRoot, `Pulumi.branch-feature-door-${tag}.yaml`), { force: true });
        }
    });

    it("a second up changes nothing", async () => {
        const preview = await shop.stack.preview({ color: "never", diff: true });
        expect(Object.keys(preview.changeSummary).filter((k) => k !== "same")).toEqual([]);
    });

    it("refuses at preview a name another stack holds, naming that stack", async () => {
        const thief = await throwawayStack(frontDoor([`www-${tag}.test`, blogName]));
        try {
            await expect(thief.stack.preview({ color: "never" })).rejects.toThrow(new RegExp(`${blogName.replace(/\./g, "\\.")} is already served by stack ${blog.name} on ssh://deploy@${H1}'s front door`));
        } finally {
            await thief.remove();
        }
    });

    it("releases one stack under HTTPS load with 0 failed requests, the other untouched", async () => {
        const blogContainers = dockerAt(engines[0], "ps", "-q", "--filter", `label=berth.stack=${blog.name}`);
        const load = startLoad(`https://${shopName}/`, 8, 300, { ca: [testAcme!.roots], address: H1 });
        const other = startLoad(`https://${blogName}/`, 2, 300, { ca: [testAcme!.roots], address: H1 });
        await setObjectConfig(shop.stack, "env", { RELEASE: "2" });
        await shop.stack.up({ color: "never" });
        const [result, untouched] = await Promise.all([load.stop(), other.stop()]);
        expect(result.failures).toEqual({});
        expect(result.total).toBeGreaterThan(50);
        expect(untouched.failures).toEqual({});
        expect(dockerAt(engines[0], "ps", "-q", "--filter", `label=berth.stack=${blog.name}`)).toBe(blogContainers);
    });

    it("renews a short-lived certificate under load: a new serial served, 0 failed requests", async () => {
        const first = servedSerial(blogName);
        const load = startLoad(`https://${blogName}/`, 4, 300, { ca: [testAcme!.roots], address: H1 });
        const deadline = Date.now() + VALIDITY_SECONDS * 1000 * 1.5;
        let serial = first;
        while (serial === first && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 2000));
            serial = servedSerial(blogName);
        }
        const result = await load.stop();
        expect(serial).not.toEqual(first);
        expect(result.failures).toEqual({});
        expect(result.total).toBeGreaterThan(20);
    });

    it("maintenance answers 503 for the stack's names and is lifted again; the other stack answers throughout", async () => {
        await blog.stack.setConfig("berth:maintenance", { value: "true" });
        await blog.stack.up({ color: "never" });
        expect(request(`https://${blogName}/`, testAcme!.roots)).toMatchObject({ status: 503, body: "Down for maintenance; back soon.\n" });
        expect(request(`https://${shopName}/`, testAcme!.roots).status).toBe(200);
        await blog.stack.setConfig("berth:maintenance", { value: "false" });
        await blog.stack.up({ color: "never" });
        expect(request(`https://${blogName}/`, testAcme!.roots).status).toBe(200);
    });

    it("serves a stack's own certificate with tls manual, and goes back to ACME", async () => {
        const own = selfSignedCertificate(blogName);
        await blog.stack.setAllConfig({
            "berth:tls": { value: "manual" },
            "berth:tlsCertificate": { value: own.certificate, secret: true },
            "berth:tlsPrivateKey": { value: own.privateKey, secret: true },
        });
        await blog.stack.up({ color: "never" });
        expect(request(`https://${blogName}/`, own.certificate).status).toBe(200);
        expect(servedSerial(shopName)).toBeTruthy();
        await blog.stack.setConfig("berth:tls", { value: "acme" });
        await blog.stack.up({ color: "never" });
        expect(request(`https://${blogName}/`, testAcme!.roots).status).toBe(200);
    });

    it("npm run ingress -- status names each stack's names and certificates; remove is refused while stacks hold names", () => {
        const ingress = (...args: string[]) => spawnSync("node", ["tools/register-typescript.js", "scripts/ingress.ts", ...args], { cwd: projectRoot, encoding: "utf8" });
        const status = ingress("status", "--host", engines[0]);
        expect(status.status, status.stderr).toBe(0);
        expect(status.stdout).toMatch(new RegExp(`^ssh://deploy@${H1}: ingress running \\(healthy\\) since`));
        for (const [stack, name] of [[shop, shopName], [blog, blogName]] as const) {
            expect(status.stdout).toMatch(new RegExp(`  stack ${stack.name}: ${name}\n    ${name}: certificate valid to .* serial [0-9A-F]+, from .*Pebble`));
        }
        const refused = ingress("remove", "--host", engines[0]);
        expect(refused.status).toBe(2);
        expect(refused.stderr).toMatch(/still serves stack /);
        expect(refused.stderr).toContain(`stack ${shop.name} (${shopName})`);
    });

    it("a route removed by hand is put back by the next up", async () => {
        dockerAt(engines[0], "exec", "berth-ingress", "curl", "-sS", "--unix-socket", "/run/caddy/admin.sock", "-X", "DELETE", `http://localhost/id/berth-route-${blog.name}`);
        expect(request(`http://${blogName}/`, testAcme!.roots).status).toBe(404);
        const result = await blog.stack.up({ color: "never" });
        expect(result.summary.resourceChanges).toEqual({ same: expect.any(Number), update: 1 });
        expect(request(`https://${blogName}/`, testAcme!.roots).status).toBe(200);
    });

    it("an unreachable ACME server fails the up with the ingress's reason, while existing certificates keep serving", async () => {
        const failing = await throwawayStack({ ...frontDoor([`down-${tag}.test`]), acmeServer: "https://192.168.240.3:14999/dir" });
        try {
            const failure = await failing.stack.up({ color: "never" }).then(() => "", (err: Error) => err.message);
            expect(failure).toMatch(new RegExp(`no certificate for down-${tag}\\.test from https://192\\.168\\.240\\.3:14999/dir[^]*the ingress said:[^]*down-${tag}\\.test`));
            expect(request(`https://${shopName}/`, testAcme!.roots).status).toBe(200);
        } finally {
            await failing.remove();
            cleanHosts([engines[0]], failing.name);
        }
    });

    it("an ingress older than the stack's is replaced by the next up under HTTPS load, routes and certificates kept, no failed request", async () => {
        startOlderIngress(engines[0]);
        await waitFor(() => request(`https://${blogName}/`, testAcme!.roots).status === 200);
        // Keep-alive clients that retry a request whose kept connection the old ingress closed before answering, as
        // HTTP allows and browsers do (HTTP/2 clients get a GOAWAY instead): counted apart, never a failure.
        const load = startLoad(`https://${blogName}/`, 8, 300, { ca: [testAcme!.roots], address: H1, retryClosedKeepAlive: true });
        const fresh = startLoad(`https://${shopName}/`, 1, 300, { ca: [testAcme!.roots], address: H1, retryClosedKeepAlive: true });
        const upStarted = Math.floor(Date.now() / 1000);
        await blog.stack.up({ color: "never" });
        const [result, other] = [await load.stop(), await fresh.stop()];
        console.log(`ingress upgrade under load: ${result.total + other.total} requests, ${result.retried! + other.retried!} sent again after a kept connection closed, `
            + `failures ${JSON.stringify({ ...result.failures, ...other.failures })} (up at ${upStarted})`);
        expect({ ...result.failures, ...other.failures }).toEqual({});
        expect(result.total).toBeGreaterThan(50);
        expect(dockerAt(engines[0], "ps", "-a", "--filter", "label=berth.role=ingress", "--format", '{{.Names}} {{.Label "berth.ingress-version"}}')).toBe(`berth-ingress ${ingressVersion()}`);
        // Every name had its certificate from the first request on (0 failed): found on the volume, not asked of the CA.
        // What it resumes from after a restart (the volume's autosave) is still every route on the host's ports.
        dockerAt(engines[0], "restart", "berth-ingress");
        await waitFor(() => request(`https://${shopName}/`, testAcme!.roots).status === 200);
        const preview = await shop.stack.preview({ color: "never", diff: true });
        expect(Object.keys(preview.changeSummary).filter((k) => k !== "same")).toEqual([]);
    });

    it("destroy of one stack removes its names only: the other answers, the ingress stays", async () => {
        await shop.stack.destroy({ color: "never", excludeProtected: true });
        expect(request(`http://${shopName}/`, testAcme!.roots).status).toBe(404);
        expect(request(`https://${blogName}/`, testAcme!.roots).status).toBe(200);
        expect(dockerAt(engines[0], "ps", "--filter", "name=^berth-ingress$", "--format", "{{.Status}}")).toMatch(/^Up .*\(healthy\)/);
    });
});
