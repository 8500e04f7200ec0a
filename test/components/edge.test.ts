import { describe, expect, it } from "vitest";
import { configWithDefaults } from "../../components/config/defaults";
import { checkHostPorts, checkTlsPair, parseBodySize, requiredSecrets, parseSettings } from "../../components/config";
import { applyScript, httpConfig, siteConfig, siteId, tlsHash } from "../../components/docker/providers/proxySite";
import { proxyListenEnv, servicePortEnv } from "../../components/webProxy";
import { selfSignedCertificate } from "../certificates";

const edge = { httpsPort: 8443, hsts: true, maxBodySize: "25m", keepAliveSeconds: 0 };

/** The proxy's edge: HTTPS config and certificate checks, the redirect, the body limit. */
describe("the proxy's edge", () => {
    it("listens where the stack binds, on the host's network, and is probed there (a wildcard on loopback)", () => {
        expect(proxyListenEnv("127.0.0.1", 8080, 0)).toEqual({ BERTH_LISTEN: "127.0.0.1:8080", BERTH_PROBE: "127.0.0.1/8080" });
        expect(proxyListenEnv("0.0.0.0", 80, 443)).toEqual({ BERTH_LISTEN: "0.0.0.0:80", BERTH_LISTEN_HTTPS: "0.0.0.0:443", BERTH_PROBE: "127.0.0.1/80" });
        expect(proxyListenEnv("::", 8080, 8443)).toEqual({ BERTH_LISTEN: "[::]:8080", BERTH_LISTEN_HTTPS: "[::]:8443", BERTH_PROBE: "::1/8080" });
        expect(proxyListenEnv("fd00::5", 80, 0)).toEqual({ BERTH_LISTEN: "[fd00::5]:80", BERTH_PROBE: "fd00::5/80" });
    });

    it("forwards a service's port from the host's private address to the service's container", () => {
        expect(servicePortEnv("192.168.240.11", 6380, "172.18.0.4", 6379)).toEqual({ BERTH_FORWARD: "192.168.240.11:6380 172.18.0.4:6379" });
        expect(servicePortEnv("fd00::11", 5432, "fd00:b::4", 5432)).toEqual({ BERTH_FORWARD: "[fd00::11]:5432 [fd00:b::4]:5432" });
    });

    const pair = selfSignedCertificate("shop.test");
    const other = selfSignedCertificate("other.test");

    it("accepts a certificate with its key, and names what is wrong with any other pair, never showing the key", () => {
        expect(checkTlsPair(pair.certificate, pair.privateKey).subject).toBe("CN=shop.test");
        const mismatch = () => checkTlsPair(pair.certificate, other.privateKey);
        expect(mismatch).toThrow(/invalid config berth:tlsPrivateKey = "\(secret\)": it is not the key of berth:tlsCertificate \(secret: certificate for CN=shop.test, valid/);
        const later = new Date(Date.now() + 40 * 86400_000);
        expect(() => checkTlsPair(pair.certificate, pair.privateKey, later)).toThrow(/berth:tlsCertificate = "\(secret: certificate for CN=shop.test[^"]*": it has expired: renew it/);
        expect(() => checkTlsPair(pair.certificate, pair.privateKey, new Date(Date.now() - 86400_000))).toThrow(/it is not valid yet/);
        expect(() => checkTlsPair("not a certificate", pair.privateKey)).toThrow(/berth:tlsCertificate = "\(secret\)": not a PEM certificate/);
        expect(() => checkTlsPair(pair.certificate, "-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n")).toThrow(/berth:tlsPrivateKey = "\(secret\)": not an unencrypted PEM private key/);
        try {
            mismatch();
        } catch (err) {
            expect(String(err)).not.toContain(other.privateKey.split("\n")[1]);
        }
    });

    it("takes body limits in nginx's notation", () => {
        expect(["512k", "25M", "1g", "0"].map((v) => parseBodySize("maxBodySize", v))).toEqual(["512k", "25m", "1g", "0"]);
        expect(() => parseBodySize("maxBodySize", "25 MB")).toThrow('invalid config berth:maxBodySize = "25 MB": use a size like 512k, 25m or 1g (0: no limit)');
    });

    it("asks for the certificate and key as secrets with HTTPS only, on a port of its own, in front of the proxy", () => {
        const base = { replicas: 2, hostPort: 8080, proxy: true };
        expect(() => checkHostPorts({ app: { ...base, edge: { ...edge, httpsPort: 8080 } }, services: [] })).toThrow(/berth:hostPort = 8080: host port 8080 is already published by httpsPort/);
        expect(() => checkHostPorts({ app: { ...base, proxy: false, edge }, services: [] })).toThrow(/berth:httpsPort = 8443: HTTPS is served by berth's proxy/);
        expect(() => checkHostPorts({ app: { ...base, edge }, services: [] })).not.toThrow();
        const settings = parseSettings(configWithDefaults({ image: "registry.internal:5000/shop:1", services: {}, dependsOn: [], httpsPort: 443 }));
        expect(requiredSecrets(settings)).toEqual(["tlsCertificate", "tlsPrivateKey"]);
        expect(requiredSecrets({ ...settings, app: { ...settings.app, edge: { ...edge, httpsPort: 0 } } })).toEqual([]);
    });

    it("serves HTTPS with the stack's certificate, HSTS when asked, and redirects plain HTTP there", () => {
        expect(siteConfig(edge)).toMatch(/keepalive_timeout 0s;\nclient_max_body_size 25m;\nserver \{\n    include \/etc\/nginx\/berth\/listen-https.conf;[^]*Strict-Transport-Security "max-age=31536000" always;[^]*include \/etc\/nginx\/app.conf;\n\}/);
        expect(siteConfig({ ...edge, hsts: false })).not.toContain("Strict-Transport-Security");
        expect(siteConfig({ ...edge, httpsPort: 0, keepAliveSeconds: 15 })).toBe("keepalive_timeout 15s;\nclient_max_body_size 25m;\n");
        expect(httpConfig(edge, "abc")).toContain("return 308 https://$host:8443$request_uri;");
        expect(httpConfig({ ...edge, httpsPort: 443 }, "abc")).toContain("return 308 https://$host$request_uri;");
        expect(httpConfig({ ...edge, httpsPort: 0 }, "abc")).toBe('location = /__berth/site {\n    return 200 "abc\\n";\n}\ninclude /etc/nginx/app.conf;\n');
    });

    it("names each site differently when its edge or certificate changes, and writes the key from stdin only", () => {
        const hash = tlsHash(pair);
        expect(siteId(edge, hash)).not.toBe(siteId(edge, tlsHash(other)));
        expect(siteId(edge, hash)).not.toBe(siteId({ ...edge, maxBodySize: "1m" }, hash));
        expect(siteId(edge, hash)).toBe(siteId({ ...edge }, tlsHash({ ...pair })));
        const script = applyScript("0123456789abcdef");
        expect(script).not.toContain("BEGIN");
        expect(script.indexOf("private-key.pem")).toBeLessThan(script.indexOf("nginx -t -q"));
        expect(script).toContain("umask 077");
    });
});
