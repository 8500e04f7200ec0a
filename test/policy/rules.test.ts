import { describe, expect, it } from "vitest";
import {
    appContainerFindings, credentialFindings, dataVolumeFindings, hostAccessFindings, productionImageFindings, ResourceView, stackOf, types,
} from "../../policy/rules";

const digest = "127.0.0.1:5000/shop/main@sha256:" + "a".repeat(64);
const urn = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::berth::${type}::${name}`;
const resource = (type: string, props: Record<string, any>, stack = "production", protect = false): ResourceView =>
    ({ type, urn: urn(stack, type, "r1"), props, protect });
const app = (props: Record<string, any> = {}, stack = "staging") => resource(types.container, {
    image: digest, labels: { "berth.role": "app" }, restart: "unless-stopped", memoryBytes: 256 * 2 ** 20,
    healthcheck: { command: "true" }, volumes: [], networks: [{ name: "berth-net", aliases: [] }], command: [], ...props,
}, stack);

describe("stackOf", () => {
    it("reads the stack from a URN", () => {
        expect(stackOf(urn("branch-feature-x", types.volume, "v"))).toBe("branch-feature-x");
    });
});

describe("production-images-pinned-by-digest", () => {
    it("flags a tag, a build and a pulumi-docker tag in production, with the fix", () => {
        expect(productionImageFindings(resource(types.pulledImage, { reference: "registry/shop/main:latest" }), ["production"])[0])
            .toMatch(/"registry\/shop\/main:latest", a mutable tag in production stack production: promote the digest/);
        expect(productionImageFindings(resource(types.image, { registry: { server: "r" }, repository: "r/shop/main", tag: "abc" }), ["production"])).toHaveLength(1);
        // berth's own proxy, tagged with its content's hash, may be published; an app that merely takes its name may not.
        const proxy = { registry: { server: "r" }, repository: "r/berth/proxy", context: "/srv/berth/images/proxy", contextHash: "0123456789abcdef", tag: "0123456789ab", buildArgs: {} };
        expect(productionImageFindings(resource(types.image, proxy), ["production"])).toEqual([]);
        expect(productionImageFindings(resource(types.image, { ...proxy, context: "/srv/berth/app" }), ["production"])).toHaveLength(1);
        expect(productionImageFindings(resource(types.image, { ...proxy, tag: "5f0c3c1d9b0a" }), ["production"])).toHaveLength(1);
        expect(productionImageFindings(resource(types.dockerContainer, { image: "nginx:1.25" }), ["production"])).toHaveLength(1);
        expect(productionImageFindings(resource(types.dockerRemoteImage, { name: "redis:7" }), ["production"])).toHaveLength(1);
    });

    it("passes digests, berth's own unpushed proxy build, and every other stack", () => {
        expect(productionImageFindings(resource(types.pulledImage, { reference: digest }), ["production"])).toEqual([]);
        expect(productionImageFindings(app({}, "production"), ["production"])).toEqual([]);
        expect(productionImageFindings(resource(types.image, { repository: "berth/proxy", tag: "abc" }), ["production"])).toEqual([]);
        expect(productionImageFindings(resource(types.pulledImage, { reference: "shop:latest" }, "staging"), ["production"])).toEqual([]);
        expect(productionImageFindings(resource(types.pulledImage, { reference: "shop:latest" }, "prod-eu"), ["production", "prod-eu"])).toHaveLength(1);
    });
});

describe("app-containers-restart-healthcheck-memory", () => {
    it("names each missing guard and the setting that adds it", () => {
        const findings = appContainerFindings(app({ restart: "no", memoryBytes: 0, healthcheck: undefined }));
        expect(findings).toEqual([
            "app container r1 has no restart policy: set berth:restart to unless-stopped, always or on-failure[:N]",
            "app container r1 has no healthcheck: give the image a HEALTHCHECK or set berth:healthcheck",
            "app container r1 has no memory limit: set berth:memory (e.g. 512m)",
        ]);
    });

    it("accepts the image's own healthcheck when berth requires one, and ignores non-app containers", () => {
        expect(appContainerFindings(app({ healthcheck: undefined, requireHealthcheck: true }))).toEqual([]);
        expect(appContainerFindings(app({ labels: { "berth.role": "proxy" }, memoryBytes: 0 }))).toEqual([]);
    });

    it("holds the app's other roles to the same guards, a role without healthcheck being gated by staying up", () => {
        const worker = (props: Record<string, unknown>) => app({ labels: { "berth.role": "worker", "berth.process": "worker" }, healthcheck: undefined, noHealthcheck: true, upSeconds: 10, ...props });
        expect(appContainerFindings(worker({}))).toEqual([]);
        expect(appContainerFindings(worker({ upSeconds: 0 }))).toEqual(["app container r1 has no healthcheck: give the image a HEALTHCHECK or set berth:healthcheck"]);
        expect(appContainerFindings(worker({ restart: "no" }))[0]).toMatch(/has no restart policy/);
    });
});

describe("no-host-access", () => {
    it("flags the Docker socket, the host network and privileged mode, for berth's and pulumi-docker's containers", () => {
        expect(hostAccessFindings(app({ volumes: [{ source: "/var/run/docker.sock", target: "/var/run/docker.sock" }] }))[0]).toMatch(/mounts the Docker socket/);
        // berth's backup scheduler alone may (for RabbitMQ's and custom services' backups); an app labelled otherwise may not.
        expect(hostAccessFindings(app({ volumes: [{ source: "/var/run/docker.sock", target: "/var/run/docker.sock" }], labels: { "berth.stack": "staging", "berth.role": "backup" } }))).toEqual([]);
        expect(hostAccessFindings(app({ volumes: [{ source: "/var/run/docker.sock", target: "/var/run/docker.sock" }], labels: { "berth.stack": "staging", "berth.role": "worker" } }))[0]).toMatch(/mounts the Docker socket/);
        expect(hostAccessFindings(app({ networks: [{ name: "host", aliases: [] }] }))[0]).toMatch(/uses the host network/);
        expect(hostAccessFindings(resource(types.dockerContainer, { privileged: true, networkMode: "host", mounts: [{ source: "/run/docker.sock" }] }))).toHaveLength(3);
    });

    it("lets berth's own proxy and services' ports, and nothing else, listen on the host network", () => {
        const host = [{ name: "host", aliases: [] }];
        expect(hostAccessFindings(app({ networks: host, labels: { "berth.stack": "staging", "berth.role": "proxy" }, image: "sha256:" + "a".repeat(64) }))).toEqual([]);
        expect(hostAccessFindings(app({ networks: host, labels: { "berth.stack": "staging", "berth.role": "port" } }))).toEqual([]);
        expect(hostAccessFindings(app({ networks: host, labels: { "berth.stack": "staging", "berth.role": "app" } }))[0]).toMatch(/uses the host network/);
        expect(hostAccessFindings(app({ networks: host, image: "berth/proxy:9fbfa68a721f" }))[0]).toMatch(/uses the host network/);
    });

    it("passes named volumes on a stack network", () => {
        expect(hostAccessFindings(app({ volumes: [{ source: "berth-staging-postgres-data", target: "/data" }] }))).toEqual([]);
        expect(hostAccessFindings(resource(types.dockerContainer, { networkMode: "bridge", volumes: [{ volumeName: "data" }] }))).toEqual([]);
    });
});

describe("data-volumes-protected", () => {
    const volume = (ephemeral: boolean, protect: boolean) =>
        resource(types.volume, { name: "berth-staging-postgres-data", labels: { "berth.role": "data", "berth.purpose": "postgres" }, ephemeral }, "staging", protect);

    it("flags kept data that is not protected", () => {
        expect(dataVolumeFindings(volume(false, false))[0]).toMatch(/data volume berth-staging-postgres-data \(postgres\) is not protected: declare it with `protect: true`/);
    });

    it("passes protected data and ephemeral stacks' data", () => {
        expect(dataVolumeFindings(volume(false, true))).toEqual([]);
        expect(dataVolumeFindings(volume(true, false))).toEqual([]);
    });
});

describe("credentials-are-secrets", () => {
    it("finds credentials by name and by URL shape in fields that are never encrypted", () => {
        expect(credentialFindings(resource(types.image, { buildArgs: { NPM_TOKEN: "abc", NODE_ENV: "production" }, labels: {}, repository: "r/shop" })))
            .toEqual([expect.stringMatching(/^r1 carries a credential in buildArgs.NPM_TOKEN, which is never encrypted: pass it as a Pulumi secret/)]);
        expect(credentialFindings(app({ labels: { "berth.role": "app", db: "postgres://app:hunter2@db/app" } }))).toHaveLength(1);
        expect(credentialFindings(app({ command: ["serve", "--db=postgres://app:hunter2@db/app"] }))).toHaveLength(1);
        expect(credentialFindings(resource(types.pulledImage, { reference: "https://ci:pw@registry.example.com/shop:1" }))).toHaveLength(1);
    });

    it("passes empty credential names, plain URLs, and the fields berth always encrypts", () => {
        expect(credentialFindings(resource(types.image, { buildArgs: { API_KEY: "" }, labels: { docs: "https://example.com/a@b" }, repository: "r/shop" }))).toEqual([]);
        expect(credentialFindings(app({ env: { POSTGRES_PASSWORD: "hunter2" } }))).toEqual([]);
    });
});
