import { describe, expect, it } from "vitest";
import { configWithDefaults } from "../../components/config/defaults";
import { checkCertificateCovers, domainProblem, loadSettings, parseAcmeServer, parseCaCertificates, parseSettings, requiredSecrets, settingsWarnings } from "../../components/config";
import { bodyBytes, ingressSite, ingressUrls } from "../../components/ingress";
import { selfSignedCertificate } from "../certificates";

const defaults = configWithDefaults({});
const settingsWith = (overrides: Record<string, string | undefined>) => parseSettings((key) => (key in overrides ? overrides[key] : defaults(key)));
const message = (run: () => unknown) => {
    try {
        run();
    } catch (err) {
        return (err as Error).message;
    }
    throw new Error("expected a refusal");
};

/** berth:domains and the keys beside it: the stack's names on its hosts' front door. */
describe("front door config", () => {
    it("is absent without domains, so such a stack keeps its own ports and its state", () => {
        expect(settingsWith({}).app.ingress).toBeUndefined();
    });

    it("reads names, path prefix, certificate mode, ACME server and maintenance, with Pulumi.yaml's defaults", () => {
        const { ingress } = settingsWith({ domains: '["shop.example.com","www.shop.example.com"]', pathPrefix: "/api" }).app;
        expect(ingress).toEqual({
            domains: ["shop.example.com", "www.shop.example.com"],
            pathPrefix: "/api",
            tls: "acme",
            acme: { server: "https://acme-v02.api.letsencrypt.org/directory", email: "", caCertificates: "" },
            maintenance: false,
        });
    });

    it("takes host names as DNS and certificates do: lowercase labels, a wildcard only as the whole first label", () => {
        for (const good of ["shop.example.com", "a-b.c1.test", "*.staging.example.com", `${"a".repeat(63)}.test`]) expect(domainProblem(good), good).toBeUndefined();
        for (const bad of ["Shop.example.com", "localhost", "*.com", "shop..test", "-shop.test", "sh_op.test", "a*.test", "shop.test.", "x.*.test", `${"a".repeat(64)}.test`, "shop.test:443", "shop.test/x", "shop.test\n", "ex ample.test"]) {
            expect(domainProblem(bad), bad).toBeDefined();
        }
    });

    it("refuses every bad value at once, naming each key, value and what is allowed", () => {
        const text = message(() => settingsWith({
            domains: '["shop.test","Bad.test","shop.test"]', pathPrefix: "/api/", tls: "letsencrypt", acmeServer: "http://acme.test/dir", acmeEmail: "not mail", maintenance: "yes",
        }));
        expect(text).toContain('berth:domains[1] = "Bad.test": use lowercase (bad.test)');
        expect(text).toContain('berth:domains = "shop.test": the name is listed twice');
        expect(text).toContain('berth:pathPrefix = "/api/": use a path such as /api');
        expect(text).toContain('berth:tls = "letsencrypt": use one of: acme, manual, off');
        expect(text).toContain('berth:acmeServer = "http://acme.test/dir": use an ACME directory URL over https');
        expect(text).toContain('berth:acmeEmail = "not mail": use an email address');
        expect(text).toContain('berth:maintenance = "yes": use true or false');
    });

    it("refuses what the front door cannot do with the rest of the stack, with the alternative", () => {
        expect(message(() => settingsWith({ domains: '["*.staging.shop.test"]' }))).toMatch(/berth:domains = "\*\.staging\.shop\.test": ACME's HTTP-01 challenge cannot prove a wildcard/);
        expect(message(() => settingsWith({ domains: '["shop.test"]', httpsPort: "8443" }))).toMatch(/berth:httpsPort = 8443: with berth:domains the front door serves HTTPS on 443/);
        expect(message(() => settingsWith({ domains: '["shop.test"]', proxy: "false" }))).toMatch(/berth:proxy = false: the front door passes requests to the stack's proxy/);
        const swarm = { domains: '["shop.test"]', orchestrator: "swarm", hosts: '["ssh://deploy@10.0.0.1","ssh://deploy@10.0.0.2"]', registry: "registry.example.com" };
        expect(message(() => settingsWith(swarm))).toMatch(/berth:tls = "acme": on a swarm of 2 nodes each node's front door answers the names[^]*set berth:tls manual/);
        expect(settingsWith({ ...swarm, tls: "manual" }).app.ingress?.tls).toBe("manual");
        expect(message(() => settingsWith({ maintenance: "true" }))).toMatch(/berth:maintenance = true: maintenance is answered by the front door .* set berth:domains too/);
        expect(settingsWith({ domains: '["*.staging.shop.test"]', tls: "manual" }).app.ingress?.domains).toEqual(["*.staging.shop.test"]);
    });

    it("checks a private ACME server's URL and CA certificates", () => {
        expect(parseAcmeServer("acmeServer", "https://192.168.240.3:14000/dir")).toBe("https://192.168.240.3:14000/dir");
        expect(() => parseAcmeServer("acmeServer", "https://user:pw@acme.test/dir")).toThrow(/over https/);
        const { certificate } = selfSignedCertificate("ca.test");
        expect(parseCaCertificates("acmeCaCertificates", certificate + certificate)).toBe(certificate + certificate);
        expect(() => parseCaCertificates("acmeCaCertificates", "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----")).toThrow(/use PEM certificates/);
    });

    it("with tls manual needs the stack's certificate pair, which must cover every name", () => {
        const settings = settingsWith({ domains: '["shop.test"]', tls: "manual" });
        expect(requiredSecrets(settings)).toEqual(expect.arrayContaining(["tlsCertificate", "tlsPrivateKey"]));
        expect(requiredSecrets(settingsWith({ domains: '["shop.test"]' }))).not.toContain("tlsCertificate");
        const pair = selfSignedCertificate("shop.test");
        expect(() => checkCertificateCovers(pair.certificate, ["shop.test"])).not.toThrow();
        expect(() => checkCertificateCovers(pair.certificate, ["shop.test", "www.shop.test"])).toThrow(/does not cover www.shop.test of berth:domains/);
        const secrets: Record<string, string> = { tlsCertificate: pair.certificate, tlsPrivateKey: pair.privateKey, registryPassword: "x", postgresPassword: "x" };
        const load = (domains: string) => loadSettings({
            source: (key) => (key === "domains" ? domains : key === "tls" ? "manual" : defaults(key)),
            keys: ["domains", "tls"], secretState: () => "secret", projectDir: `${__dirname}/../..`, secretValue: (key) => secrets[key],
        });
        expect(load('["shop.test"]').app.ingress?.tls).toBe("manual");
        expect(() => load('["blog.test"]')).toThrow(/berth:tlsCertificate .* it does not cover blog.test/);
    });

    it("asks the ingress for the stack's names, its proxy as upstream, the body limit in bytes, HSTS as the proxy has it", () => {
        const settings = settingsWith({ domains: '["shop.test"]', acmeEmail: "ops@shop.test", hsts: "true", maxBodySize: "25m" });
        expect(ingressSite("shop", settings.app.ingress!, "127.0.0.1:8080", settings.app.edge)).toEqual({
            stack: "shop", domains: ["shop.test"], pathPrefix: "", upstream: "127.0.0.1:8080", tls: "acme",
            acme: { server: "https://acme-v02.api.letsencrypt.org/directory", email: "ops@shop.test" }, maintenance: false, hsts: true, maxBodyBytes: 25 * 1024 ** 2,
        });
        expect([bodyBytes("0"), bodyBytes("512k"), bodyBytes("1G")]).toEqual([0, 512 * 1024, 1024 ** 3]);
        expect(ingressUrls({ ...settings.app.ingress!, domains: ["a.test", "b.test"], pathPrefix: "/api" })).toEqual(["https://a.test/api/", "https://b.test/api/"]);
        expect(ingressUrls({ ...settings.app.ingress!, tls: "off" })).toEqual(["http://shop.test/"]);
    });

    it("warns, refusing nothing, when a remote host's app port would listen on its loopback only and no front door serves it", () => {
        const remote = { hosts: '["ssh://deploy@10.0.0.1"]', registry: "registry.example.com" };
        expect(settingsWarnings(settingsWith(remote))).toEqual([expect.stringMatching(/^berth:bindAddress is 127\.0\.0\.1: on ssh:\/\/deploy@10\.0\.0\.1 the app's port \d+ listens on that host's loopback only[^]*berth:domains/)]);
        expect(settingsWarnings(settingsWith({ ...remote, bindAddress: "0.0.0.0" }))).toEqual([]);
        expect(settingsWarnings(settingsWith({ ...remote, domains: '["shop.test"]' }))).toEqual([]);
        expect(settingsWarnings(settingsWith({}))).toEqual([]);
    });
});
