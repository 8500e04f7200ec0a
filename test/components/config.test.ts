import { describe, expect, it } from "vitest";
import {
    ConfigError, parseCpus, parseImageReference, parseInteger, parseMemory, parseName, parsePort, parseRestartPolicy, parseSettings,
} from "../../components/config";

const valid: Record<string, string> = {
    app: "shop", branch: "main", appContext: "app", replicas: "1", hostPort: "8080", containerPort: "8080",
    restart: "unless-stopped", memory: "256m", cpus: "0", ephemeral: "false", registry: "127.0.0.1:5000",
    registryUser: "berth", redisImage: "redis:7", postgresImage: "postgres:15",
};
const settingsWith = (overrides: Record<string, string | undefined>) =>
    parseSettings((key) => (key in overrides ? overrides[key] : valid[key]));

describe("parseSettings", () => {
    it("accepts the defaults of Pulumi.yaml", () => {
        const settings = settingsWith({});
        expect(settings.app).toMatchObject({ name: "shop", replicas: 1, hostPort: 8080, memoryBytes: 256 * 1024 ** 2, cpus: 0 });
        expect(settings.registry).toEqual({ server: "127.0.0.1:5000", username: "berth" });
        expect(settings.ephemeral).toBe(false);
    });

    it("names the key, the value and what is allowed", () => {
        expect(() => settingsWith({ restart: "sometimes" })).toThrow(
            'invalid config berth:restart = "sometimes": use one of always, unless-stopped, on-failure, on-failure:N (N ≥ 1), no',
        );
    });

    it("rejects a missing key", () => {
        expect(() => settingsWith({ registry: undefined })).toThrow(/berth:registry = null: it is required/);
    });

    it("rejects several replicas on one host port", () => {
        expect(() => settingsWith({ replicas: "2" })).toThrow(/berth:replicas = 2: one host port \(berth:hostPort 8080\) can serve only 1 replica/);
    });
});

describe("field rules", () => {
    it.each(["always", "unless-stopped", "no", "on-failure", "on-failure:3"])("restart policy %s is valid", (policy) => {
        expect(parseRestartPolicy("restart", policy)).toBe(policy);
    });
    it.each(["sometimes", "on-failure:0", "on-failure:x", "Always", ""])("restart policy %j is invalid", (policy) => {
        expect(() => parseRestartPolicy("restart", policy)).toThrow(ConfigError);
    });

    it("ports must be 1-65535", () => {
        expect(parsePort("hostPort", "65535")).toBe(65535);
        expect(() => parsePort("hostPort", "0")).toThrow(/berth:hostPort = "0": use a whole number from 1 to 65535/);
        expect(() => parsePort("hostPort", "70000")).toThrow(ConfigError);
        expect(() => parsePort("hostPort", "80.5")).toThrow(ConfigError);
    });

    it("replicas must be at least 1", () => {
        expect(parseInteger("replicas", "3", 1, 20)).toBe(3);
        expect(() => parseInteger("replicas", "0", 1, 20)).toThrow(/berth:replicas = "0": use a whole number from 1 to 20/);
    });

    it("memory takes Docker's units", () => {
        expect(parseMemory("memory", "512m")).toBe(512 * 1024 ** 2);
        expect(parseMemory("memory", "1G")).toBe(1024 ** 3);
        expect(parseMemory("memory", "0")).toBe(0);
        expect(() => parseMemory("memory", "512mb")).toThrow(/use a number with an optional unit b, k, m or g/);
        expect(() => parseMemory("memory", "1k")).toThrow(/at least 6m/);
    });

    it("cpus is a non-negative number", () => {
        expect(parseCpus("cpus", "0.5")).toBe(0.5);
        expect(() => parseCpus("cpus", "-1")).toThrow(ConfigError);
        expect(() => parseCpus("cpus", "two")).toThrow(ConfigError);
    });

    it.each([
        "redis:7", "postgres", "berth/redis:7", "registry.example.com:5000/team/app:abc123",
        `registry.example.com/team/app@sha256:${"a".repeat(64)}`, `app:1.2@sha256:${"0".repeat(64)}`,
    ])("image reference %s is valid", (ref) => {
        expect(parseImageReference("redisImage", ref)).toBe(ref);
    });
    it.each(["Redis:7", "redis:", "redis@sha256:abc", "-redis", "registry.example.com/app:tag with space"])(
        "image reference %j is invalid", (ref) => {
            expect(() => parseImageReference("redisImage", ref)).toThrow(/use an image reference like/);
        },
    );

    it("app names are short lowercase DNS labels", () => {
        expect(parseName("app", "shop-api")).toBe("shop-api");
        expect(() => parseName("app", "Shop")).toThrow(ConfigError);
        expect(() => parseName("app", "shop-")).toThrow(ConfigError);
    });
});
