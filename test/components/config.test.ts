import { describe, expect, it } from "vitest";
import { configWithDefaults, schemaDefaults } from "../../components/config/defaults";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    checkBuildSource, checkKnownKeys, checkSecrets, ConfigError, ConfigErrors, loadSettings, localUrl, parseDockerHost, parseLogSize, parseImageName, parseRegistry, parseBindAddress, parseCpus, parseImageReference, parseInteger, parseMemory, parseName, parsePort, parseRestartPolicy,
    parseSettings, passwordKey, requiredSecrets,
} from "../../components/config";

/** Pulumi.yaml's defaults, as the engine hands them to the program (objects as JSON text). */
const defaults = configWithDefaults({});
const settingsWith = (overrides: Record<string, string | undefined>) =>
    parseSettings((key) => (key in overrides ? overrides[key] : defaults(key)));

describe("defaults, in Pulumi.yaml alone", () => {
    it("every key the code falls back on when unset falls back to Pulumi.yaml's default; the others are required", () => {
        const withDefaults = parseSettings(defaults);
        for (const key of Object.keys(schemaDefaults())) {
            let unset;
            try {
                unset = parseSettings((k) => (k === key ? undefined : defaults(k)));
            } catch (err) {
                expect((err as Error).message, key).toMatch(new RegExp(`berth:${key} = null: it is required`));
                continue;
            }
            expect(unset, key).toEqual(withDefaults);
        }
    });
});

describe("parseSettings", () => {
    it("accepts the defaults of Pulumi.yaml", () => {
        const settings = settingsWith({});
        expect(settings.app).toMatchObject({ name: "shop", replicas: 1, hostPort: 8080, memoryBytes: 256 * 1024 ** 2, cpus: 0, dependsOn: ["redis", "postgres"] });
        expect(settings.app.source).toEqual({ kind: "build", context: "app", dockerfile: "Dockerfile", target: "", buildArgs: {} });
        expect(settings.registry).toEqual({ server: "127.0.0.1:5000", namespace: "", username: "berth", imageName: "{app}/{branch}" });
        expect(settings.ephemeral).toBe(false);
    });

    it("names the key, the value and what is allowed", () => {
        expect(() => settingsWith({ restart: "sometimes" })).toThrow(
            'invalid config berth:restart = "sometimes": use one of always, unless-stopped, on-failure, on-failure:N (N ≥ 1), no',
        );
    });

    it("rejects a missing key", () => {
        expect(() => settingsWith({ registryUser: undefined })).toThrow(/berth:registryUser = null: it is required/);
    });

    it("publishes replicas on consecutive host ports and rejects any port published twice", () => {
        expect(settingsWith({ replicas: "3" }).app.replicas).toBe(3);
        const clash = JSON.stringify({ redis: { kind: "redis", hostPort: 8081 }, postgres: { kind: "postgres" } });
        expect(settingsWith({ replicas: "2", services: clash }).app.proxy).toBe(true); // the proxy alone takes 8080
        expect(() => settingsWith({ replicas: "2", proxy: "false", services: clash })).toThrow(
            "invalid config berth:hostPort (replica 2 uses hostPort+1) = 8081: host port 8081 is already published by services.redis.hostPort",
        );
        expect(() => settingsWith({ hostPort: "65535", replicas: "2", proxy: "false" })).toThrow(/published ports must be at most 65535/);
    });

    it("rejects a dependency that is not declared", () => {
        expect(() => settingsWith({ dependsOn: JSON.stringify(["redis", "mysql"]) })).toThrow(
            'invalid config berth:dependsOn = "mysql": no such service in berth:services (declared: redis, postgres)',
        );
    });

    it("rejects unknown service kinds and malformed service images", () => {
        expect(() => settingsWith({ services: JSON.stringify({ cache: { kind: "memcache" } }), dependsOn: "[]" })).toThrow(
            'invalid config berth:services.cache.kind = "memcache": use one of redis, postgres, mysql, rabbitmq, custom',
        );
        expect(() => settingsWith({ services: JSON.stringify({ redis: { image: "Redis:latest" } }), dependsOn: "[]" })).toThrow(
            /berth:services.redis.image = "Redis:latest": use an image reference/,
        );
    });

    it("takes a service's kind from its name and an existing image instead of a build", () => {
        const settings = settingsWith({ image: `registry.example.com/shop/main@sha256:${"e".repeat(64)}` });
        expect(settings.app.source).toEqual({ kind: "image", reference: `registry.example.com/shop/main@sha256:${"e".repeat(64)}` });
        expect(settings.services.map((s) => [s.name, s.kind])).toEqual([["redis", "redis"], ["postgres", "postgres"]]);
    });

    it("rejects a malformed image reference for the app", () => {
        expect(() => settingsWith({ image: "registry.example.com/shop/main@sha256:123" })).toThrow(/invalid config berth:image/);
    });

    it("reads object config: env, labels, log options and healthcheck", () => {
        const settings = settingsWith({
            env: JSON.stringify({ LOG_LEVEL: "debug", WORKERS: 4 }),
            logDriver: "syslog",
            logOptions: JSON.stringify({ tag: "shop" }),
            healthcheck: JSON.stringify({ command: "curl -f localhost:8080/healthz", retries: 5 }),
        });
        expect(settings.app.env).toEqual({ LOG_LEVEL: "debug", WORKERS: "4" });
        expect(settings.app.logOptions).toEqual({ tag: "shop" });
        expect(settings.app.healthcheck).toEqual({ command: "curl -f localhost:8080/healthz", intervalSeconds: 5, timeoutSeconds: 5, retries: 5, startPeriodSeconds: 10 });
        expect(() => settingsWith({ env: JSON.stringify({ "BAD-NAME": "x" }) })).toThrow(/berth:env.BAD-NAME/);
        expect(() => settingsWith({ healthcheck: JSON.stringify({ retries: 3 }) })).toThrow(/berth:healthcheck .*shell `command`/);
    });
});

describe("secrets", () => {
    it("requires the registry password and each stateful service's password", () => {
        const settings = settingsWith({
            services: JSON.stringify({ redis: {}, postgres: {}, "order-db": { kind: "mysql" }, queue: { kind: "rabbitmq" } }),
        });
        expect(requiredSecrets(settings)).toEqual(["registryPassword", "postgresPassword", "orderDbPassword", "queuePassword"]);
        expect(passwordKey("order-db")).toBe("orderDbPassword");
    });

    it("names the missing secret and how to set it", () => {
        const settings = settingsWith({});
        expect(() => checkSecrets(settings, (key) => (key === "registryPassword" ? "secret" : "missing"))).toThrow(
            "invalid config berth:postgresPassword = null: missing secret: set with `pulumi config set --secret berth:postgresPassword`",
        );
        expect(() => checkSecrets(settings, () => "secret")).not.toThrow();
    });

    it("refuses a password kept in plaintext, without printing it", () => {
        const settings = settingsWith({});
        expect(() => checkSecrets(settings, (key) => (key === "postgresPassword" ? "plaintext" : "secret"))).toThrow(
            'invalid config berth:postgresPassword = "(hidden)": stored in plaintext in the stack\'s config; encrypt it with `pulumi config set --secret berth:postgresPassword`',
        );
    });

    it("needs no registry password to deploy an existing image", () => {
        expect(requiredSecrets(settingsWith({ image: "registry.example.com/shop/main:abc" }))).toEqual(["postgresPassword"]);
    });
});

describe("bindAddress", () => {
    it.each(["127.0.0.1", "0.0.0.0", "10.0.0.5", "::", "::1"])("%s is valid", (address) => {
        expect(parseBindAddress("bindAddress", address)).toBe(address);
    });

    it.each(["localhost", "0.0.0.0:80", "300.1.1.1", ""])("%j is refused with what is allowed", (address) => {
        expect(() => parseBindAddress("bindAddress", address)).toThrow(
            `invalid config berth:bindAddress = ${JSON.stringify(address)}: use an IP address of the Docker host: 127.0.0.1 (that host only), 0.0.0.0 (every interface) or one of its addresses`,
        );
    });

    it("gives the URL the host itself reaches the port at", () => {
        expect(localUrl("127.0.0.1", 8080)).toBe("http://127.0.0.1:8080");
        expect(localUrl("0.0.0.0", 80)).toBe("http://127.0.0.1:80");
        expect(localUrl("::", 80)).toBe("http://[::1]:80");
        expect(localUrl("fd00::5", 80)).toBe("http://[fd00::5]:80");
        expect(localUrl("10.0.0.5", 80)).toBe("http://10.0.0.5:80");
    });

    it("defaults to this host only", () => {
        expect(parseSettings(defaults).app.bindAddress).toBe("127.0.0.1");
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
        expect(() => settingsWith({ replicas: "0" })).toThrow(ConfigError);
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

describe("a whole config at preview", () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "berth-config-"));
    fs.mkdirSync(path.join(project, "app"));
    fs.writeFileSync(path.join(project, "app", "Dockerfile"), "FROM scratch\n");
    const load = (overrides: Record<string, string | undefined>, extraKeys: string[] = []) => loadSettings({
        source: (key) => (key in overrides ? overrides[key] : defaults(key)),
        keys: [...Object.keys(schemaDefaults()), "registryPassword", "postgresPassword", ...extraKeys],
        secretState: () => "secret",
        projectDir: project,
    });

    it("is accepted as Pulumi.yaml's defaults give it", () => {
        expect(load({}).app.name).toBe("shop");
    });

    it("reports every error at once, each once, without a stack trace", () => {
        let error: unknown;
        try {
            load({ replicas: "0", restart: "sometimes", registry: "http://registry:5000/", dockerfile: "Missing.Dockerfile" }, ["replica"]);
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(ConfigErrors);
        const lines = (error as Error).message.split("\n");
        expect(lines).toEqual([
            `invalid config berth:dockerfile = "Missing.Dockerfile": no such file in the build context ${path.join(project, "app")}`,
            'invalid config berth:replicas = "0": use a whole number from 1 to 20',
            'invalid config berth:restart = "sometimes": use one of always, unless-stopped, on-failure, on-failure:N (N ≥ 1), no',
            'invalid config berth:registry = "http://registry:5000/": use host[:port][/namespace] as image names spell it, e.g. registry.example.com, 127.0.0.1:5000 or ghcr.io/my-org (no http://; lowercase path components)',
            'invalid config berth:replica = "(set)": no such key: did you mean berth:replicas? Pulumi.yaml lists every key berth reads',
        ]);
        // A RunError: Pulumi prints its message alone, not as an unhandled exception with a trace.
        expect(require("@pulumi/pulumi").RunError.isInstance(error)).toBe(true);
    });

    it("refuses unknown keys, suggesting the closest known one", () => {
        expect(() => checkKnownKeys(["replica"], [])).toThrow(/berth:replica = "\(set\)": no such key: did you mean berth:replicas\?/);
        expect(() => checkKnownKeys(["helthcheck"], [])).toThrow(/did you mean berth:healthcheck\?/);
        expect(() => checkKnownKeys(["ordersPasword"], [{ name: "orders", kind: "mysql" } as any])).toThrow(/did you mean berth:ordersPassword\?/);
        expect(() => checkKnownKeys(["zzzzzzzzzz"], [])).toThrow(/no such key: Pulumi.yaml lists/);
        expect(() => checkKnownKeys(["replicas", "ordersPassword"], [{ name: "orders", kind: "mysql" } as any])).not.toThrow();
    });

    it("checks the build context and Dockerfile exist", () => {
        expect(() => checkBuildSource({ kind: "build", context: "nope", dockerfile: "Dockerfile", target: "", buildArgs: {} }, project))
            .toThrow(/berth:appContext = "nope": no such directory/);
        expect(() => checkBuildSource({ kind: "build", context: "app", dockerfile: "Missing.Dockerfile", target: "", buildArgs: {} }, project))
            .toThrow(/berth:dockerfile = "Missing.Dockerfile": no such file in the build context/);
        expect(() => checkBuildSource({ kind: "image", reference: "redis:7" }, project)).not.toThrow();
    });

    it("checks the engine address and the registry for form", () => {
        for (const host of ["", "unix:///var/run/docker.sock", "tcp://10.0.0.5:2376", "ssh://deploy@staging-1.internal", "ssh://deploy@10.1.2.3:2222"]) {
            expect(parseDockerHost("dockerHost", host)).toBe(host);
        }
        for (const host of ["ftp://x", "staging-1.internal", "ssh://"]) {
            expect(() => parseDockerHost("dockerHost", host)).toThrow(/use an engine address the docker CLI speaks/);
        }
        expect(parseRegistry("registry", "registry.internal:5000")).toEqual({ server: "registry.internal:5000", namespace: "" });
        expect(parseRegistry("registry", "ghcr.io/my-org")).toEqual({ server: "ghcr.io", namespace: "my-org" });
        expect(parseRegistry("registry", "registry.example.com:5000/team/apps")).toEqual({ server: "registry.example.com:5000", namespace: "team/apps" });
        for (const registry of ["http://host:5000/", "host:5000/", "host/Team", "host//team", "host/team/", "Registry.Internal", "host/-x"]) {
            expect(() => parseRegistry("registry", registry), registry).toThrow(ConfigError);
        }
    });

    it("checks berth:imageName: a repository path with {branch}, only known placeholders", () => {
        for (const name of ["{app}/{branch}", "{app}-{branch}", "web/{branch}", "{branch}"]) expect(parseImageName("imageName", name)).toBe(name);
        expect(() => parseImageName("imageName", "{app}")).toThrow(/with \{branch\} in it/);
        expect(() => parseImageName("imageName", "{app}/{branch}/{sha}")).toThrow(/\(unknown: \{sha\}\)/);
        for (const name of ["{app}/{branch}:latest", "/{branch}", "{app}//{branch}", "Shop/{branch}", "{app} {branch}", "$(id)/{branch}"]) {
            expect(() => parseImageName("imageName", name), name).toThrow(ConfigError);
        }
    });

    it("needs a service's password only when that service exists", () => {
        const noPostgres = loadSettings({
            source: configWithDefaults({ services: { redis: { kind: "redis" } }, dependsOn: ["redis"] }),
            keys: [...Object.keys(schemaDefaults()), "registryPassword"],
            secretState: (key) => (key === "registryPassword" ? "secret" : "missing"),
            projectDir: project,
        });
        expect(noPostgres.services.map((s) => s.name)).toEqual(["redis"]);
    });
});

describe("host-keeping defaults", () => {
    it("rotate logs at 10m, 3 files, unless the stack says otherwise", () => {
        expect(settingsWith({}).logRotation).toEqual({ maxSize: "10m", maxFiles: 3 });
        expect(settingsWith({ logMaxSize: "500k", logMaxFiles: "5" }).logRotation).toEqual({ maxSize: "500k", maxFiles: 5 });
        expect(parseLogSize("logMaxSize", "1g")).toBe("1g");
        expect(() => settingsWith({ logMaxSize: "10MB" })).toThrow('invalid config berth:logMaxSize = "10MB": use a size like 500k, 10m or 1g');
    });

    it("take a memory limit per service", () => {
        const services = settingsWith({ services: JSON.stringify({ redis: { kind: "redis", memory: "64m" }, postgres: { kind: "postgres" } }) }).services;
        expect(services.find((s) => s.name === "redis")!.memoryBytes).toBe(64 * 1024 ** 2);
        expect(services.find((s) => s.name === "postgres")!.memoryBytes).toBeUndefined(); // the kind's default applies
        expect(() => settingsWith({ services: JSON.stringify({ redis: { kind: "redis", memory: "lots" } }) })).toThrow(/berth:services.redis.memory = "lots"/);
    });
});
