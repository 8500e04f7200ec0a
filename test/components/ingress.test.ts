import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parseSettings } from "../../components/config";
import { ingressVersion } from "../../components/ingress";
import { configWithDefaults, recordResources, Registered } from "./mocks";
import { selfSignedCertificate } from "../certificates";

const registered: Registered[] = [];
const secretPaths: string[] = [];
beforeAll(() => recordResources(registered, { onSecret: (where) => secretPaths.push(where) }));

const h1 = "ssh://deploy@10.1.0.11";
const h2 = "ssh://deploy@10.1.0.12";
const context = fs.mkdtempSync(path.join(os.tmpdir(), "berth-app-"));
fs.writeFileSync(path.join(context, "Dockerfile"), "FROM debian:bookworm-slim\n");
const pair = selfSignedCertificate("shop.example.com");
const secrets: Record<string, string> = { registryPassword: "registry-pw", postgresPassword: "pg-pw", redisPassword: "redis-pw", tlsCertificate: pair.certificate, tlsPrivateKey: pair.privateKey };
const byType = (suffix: string) => registered.filter((r) => r.type.endsWith(suffix));

/** A stack with berth:domains on two hosts: what the front door adds, and what it leaves as it was. */
describe("Environment with berth:domains", () => {
    let urls: string[];

    beforeAll(async () => {
        const { Environment } = await import("../../components/environment");
        const env = new Environment("shop", {
            stack: "shop",
            settings: parseSettings(configWithDefaults({
                appContext: context, replicas: 2, hostPort: 8080, hosts: [h1, h2], registry: "registry.internal:5000", registryUser: "ci",
                domains: ["shop.example.com"], tls: "manual", hsts: true,
            })),
            projectDir: "/",
            secret: (key) => pulumi.secret(secrets[key]),
            checkEngines: async () => [],
            checkNames: async () => [],
            checkImages: async () => [],
            checkFrontDoor: async () => [],
        });
        urls = env.urls;
        await new Promise((resolve) => env.containers.apply(resolve));
        // The second host's resources register once their inputs (the pushed image) resolve.
        for (let i = 0; i < 100 && byType("IngressRoute").length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    });

    it("puts the stack's route on each host's ingress, to that host's own proxy on loopback, once the proxy serves", () => {
        expect(byType("IngressContainer").map((r) => [r.name, r.inputs.host, r.inputs.version, r.inputs.httpPort, r.inputs.httpsPort])).toEqual([
            ["shop-ingress-container", h1, ingressVersion(), 80, 443],
            ["shop-ingress-h2-container", h2, ingressVersion(), 80, 443],
        ]);
        expect(byType("IngressContainer")[0].inputs.image).toMatch(/^registry\.internal:5000\/berth\/ingress@sha256:/);
        expect(byType("IngressRoute").map((r) => [r.inputs.host, r.inputs.site])).toEqual([h1, h2].map((host) => [host, {
            stack: "shop", domains: ["shop.example.com"], pathPrefix: "", upstream: "127.0.0.1:8080", tls: "manual", maintenance: false, hsts: true, maxBodyBytes: 25 * 1024 ** 2,
        }]));
        // The stack's proxy trusts the scheme the front door forwards, from its loopback address alone; it serves no HTTPS itself.
        expect(byType("ProxySite").map((r) => [r.inputs.frontDoor, r.inputs.tls])).toEqual([["127.0.0.1", undefined], ["127.0.0.1", undefined]]);
        expect(urls).toEqual(["https://shop.example.com/"]);
    });

    it("hands the manual certificate to the front door as a secret, and builds the ingress image once", () => {
        expect(byType("IngressRoute").map((r) => r.inputs.certificate)).toEqual([pair, pair].map(({ certificate, privateKey }) => ({ certificate, privateKey })));
        expect(secretPaths.filter((p) => p.startsWith("shop-ingress") && p.endsWith(".certificate"))).toHaveLength(2);
        expect(byType("DockerImage").filter((r) => r.inputs.repository.endsWith("berth/ingress"))).toHaveLength(1);
    });
});
