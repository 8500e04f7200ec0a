import { describe, expect, it } from "vitest";
import { containerDiff, needsRecovery, observedState, RecordedState, restartPolicy } from "../../../components/docker/providers/container";
import { createArgs, effectiveLogOptions, DockerContainerInputs, updateArgs } from "../../../components/docker/commands/container";
import { healthProbeCommand, probesPerEngine } from "../../../components/docker/health";
import { envHash } from "../../../components/docker/resource";
import { changedKeys } from "../../../components/docker/resource";

const inputs: DockerContainerInputs = {
    host: "",
    namePrefix: "berth-dev-shop",
    image: "127.0.0.1:5000/shop/main@sha256:" + "a".repeat(64),
    command: [],
    env: { PORT: "8080", DATABASE_URL: "postgres://app:secret@postgres:5432/app" },
    labels: { "berth.stack": "dev", "berth.role": "app" },
    networks: [{ name: "berth-dev-net", aliases: ["shop"] }, { name: "other", aliases: [] }],
    ports: [{ internal: 8080, external: 18080, ip: "127.0.0.1", protocol: "tcp" }],
    volumes: [{ source: "berth-dev-postgres-data", target: "/data", readOnly: true }],
    restart: "on-failure:3",
    memoryBytes: 256 * 1024 ** 2,
    cpus: 0.5,
    healthcheck: { command: "curl -f localhost", intervalSeconds: 2, timeoutSeconds: 3, retries: 5, startPeriodSeconds: 1 },
    stopTimeoutSeconds: 20,
    logDriver: "syslog",
    logOptions: { tag: "shop" },
    healthTimeoutSeconds: 60,
};

describe("createArgs", () => {
    const args = createArgs("berth-dev-shop-abc123", inputs);
    const valueOf = (flag: string) => args[args.indexOf(flag) + 1];

    it("carries every setting to docker create", () => {
        expect(valueOf("--name")).toBe("berth-dev-shop-abc123");
        expect(valueOf("--restart")).toBe("on-failure:3");
        expect(valueOf("--memory")).toBe(String(256 * 1024 ** 2));
        expect(valueOf("--memory-swap")).toBe(String(256 * 1024 ** 2));
        expect(valueOf("--cpus")).toBe("0.5");
        expect(valueOf("--stop-timeout")).toBe("20");
        expect(valueOf("--log-driver")).toBe("syslog");
        expect(valueOf("--log-opt")).toBe("tag=shop");
        expect(valueOf("--network")).toBe("berth-dev-net");
        expect(valueOf("--network-alias")).toBe("shop");
        expect(valueOf("--publish")).toBe("127.0.0.1:18080:8080/tcp");
        expect(args).toContain("--mount=type=volume,source=berth-dev-postgres-data,target=/data,readonly");
        expect(valueOf("--health-cmd")).toBe("curl -f localhost");
        expect(valueOf("--health-interval")).toBe("2s");
        expect(args.at(-1)).toBe(inputs.image);
    });

    it("is exactly this command: no flag missing, stray or twice", () => {
        expect(args).toEqual([
            "create", "--name", "berth-dev-shop-abc123",
            "--label", "berth.role=app", "--label", "berth.stack=dev",
            "--restart", "on-failure:3",
            "--memory", String(256 * 1024 ** 2), "--memory-swap", String(256 * 1024 ** 2), "--cpus", "0.5",
            "--stop-timeout", "20",
            "--log-driver", "syslog", "--log-opt", "tag=shop",
            "--network", "berth-dev-net", "--network-alias", "shop",
            "--publish", "127.0.0.1:18080:8080/tcp",
            "--mount=type=volume,source=berth-dev-postgres-data,target=/data,readonly",
            "--health-cmd", "curl -f localhost", "--health-interval", "2s", "--health-timeout", "3s", "--health-retries", "5", "--health-start-period", "1s",
            inputs.image,
        ]);
        expect(updateArgs("berth-dev-shop-abc123", inputs)).toEqual(["update", "--restart", "on-failure:3", "--memory", String(256 * 1024 ** 2), "--memory-swap", String(256 * 1024 ** 2), "--cpus", "0.5", "berth-dev-shop-abc123"]);
    });

    it("never puts environment values (secrets) on the command line", () => {
        expect(args.join(" ")).not.toContain("secret");
        expect(args).not.toContain("--env");
    });

    it("leaves limits off when they are 0", () => {
        const unlimited = createArgs("n", { ...inputs, memoryBytes: 0, cpus: 0, healthcheck: undefined });
        expect(unlimited).not.toContain("--memory");
        expect(unlimited).not.toContain("--cpus");
        expect(unlimited).not.toContain("--health-cmd");
    });
});

describe("diffing", () => {
    it("hashes env so state never holds its values, and any change shows", () => {
        expect(envHash(inputs.env)).toMatch(/^[0-9a-f]{64}$/);
        expect(envHash({ ...inputs.env })).toBe(envHash(inputs.env));
        expect(envHash({ ...inputs.env, PORT: "9090" })).not.toBe(envHash(inputs.env));
    });

    it("sees changes by value, not by key order", () => {
        const olds: { labels: Record<string, string>; image: string } = { labels: { a: "1", b: "2" }, image: "x" };
        expect(changedKeys(olds, { labels: { b: "2", a: "1" }, image: "x" }, ["labels", "image"])).toEqual([]);
        expect(changedKeys(olds, { labels: { a: "1" }, image: "y" }, ["labels", "image"])).toEqual(["labels", "image"]);
    });
});

describe("healthProbeCommand", () => {
    it("runs the container's own healthcheck the way the engine would", () => {
        expect(healthProbeCommand(["CMD", "node", "healthcheck.js"])).toEqual(["node", "healthcheck.js"]);
        expect(healthProbeCommand(["CMD-SHELL", "curl -f localhost || exit 1"])).toEqual(["/bin/sh", "-c", "curl -f localhost || exit 1"]);
    });

    it("has nothing to run without a healthcheck", () => {
        expect(healthProbeCommand(undefined)).toBeUndefined();
        expect(healthProbeCommand(["NONE"])).toBeUndefined();
        expect(healthProbeCommand(["CMD"])).toBeUndefined();
    });

    it("runs one probe at a time per two cores of the engine, at least one", () => {
        expect([1, 2, 3, 4, 8, 64].map(probesPerEngine)).toEqual([1, 1, 1, 2, 4, 32]);
        expect(probesPerEngine(0)).toBe(1);
    });
});

/** `docker inspect` of a container made from `inputs`, as the engine reports it while it runs healthy. */
function inspected(overrides: { State?: object; HostConfig?: object; Networks?: object } = {}) {
    return {
        Name: "/berth-dev-shop-abc123",
        Id: "f".repeat(64),
        State: { Running: true, Health: { Status: "healthy" }, ...overrides.State },
        HostConfig: { RestartPolicy: { Name: "on-failure", MaximumRetryCount: 3 }, Memory: 256 * 1024 ** 2, NanoCpus: 5e8, ...overrides.HostConfig },
        Config: { Image: inputs.image },
        NetworkSettings: { Networks: overrides.Networks ?? { "berth-dev-net": { IPAddress: "172.18.0.5" }, other: { IPAddress: "172.19.0.2" } } },
    };
}

describe("drift: what the engine reports", () => {
    it("reads restart policies in the notation docker run takes", () => {
        expect(restartPolicy({ Name: "on-failure", MaximumRetryCount: 3 })).toBe("on-failure:3");
        expect(restartPolicy({ Name: "on-failure", MaximumRetryCount: 0 })).toBe("on-failure");
        expect(restartPolicy({ Name: "unless-stopped", MaximumRetryCount: 0 })).toBe("unless-stopped");
        expect(restartPolicy({ Name: "", MaximumRetryCount: 0 })).toBe("no");
        expect(restartPolicy(undefined)).toBe("no");
    });

    it("matches the inputs exactly for a container running as declared (no spurious diff)", () => {
        const observed = observedState(inspected(), inputs);
        expect(observed).toEqual({
            running: true, unhealthy: false, address: "172.18.0.5",
            restart: inputs.restart, memoryBytes: inputs.memoryBytes, cpus: inputs.cpus, image: inputs.image, networks: inputs.networks,
        });
    });

    it("sees a stopped, an unhealthy, a hand-updated and a detached container", () => {
        expect(observedState(inspected({ State: { Running: false, Health: { Status: "unhealthy" } } }), inputs)).toMatchObject({ running: false, unhealthy: false, address: "" });
        expect(observedState(inspected({ State: { Health: { Status: "unhealthy" } } }), inputs)).toMatchObject({ running: true, unhealthy: true });
        expect(observedState(inspected({ HostConfig: { RestartPolicy: { Name: "no" }, Memory: 64 * 1024 ** 2, NanoCpus: 0 } }), inputs))
            .toMatchObject({ restart: "no", memoryBytes: 64 * 1024 ** 2, cpus: 0 });
        expect(observedState(inspected({ Networks: { other: {} } }), inputs).networks).toEqual([{ name: "other", aliases: [] }]);
    });

    it("counts state recorded before berth observed containers as running", () => {
        expect(needsRecovery({})).toBe(false);
        expect(needsRecovery({ running: true, unhealthy: false })).toBe(false);
        expect(needsRecovery({ running: false })).toBe(true);
        expect(needsRecovery({ running: true, unhealthy: true })).toBe(true);
    });
});

describe("drift: what `up` does about it", () => {
    const { env, registry, ...rest } = inputs;
    const recorded: RecordedState = {
        ...rest, envHash: envHash(env), name: "berth-dev-shop-abc123", containerId: "f".repeat(64), running: true, unhealthy: false, address: "172.18.0.5",
    };
    const diff = async (current: Partial<RecordedState>, news: Partial<DockerContainerInputs> = {}) =>
        containerDiff(recorded, { ...recorded, ...current }, { ...inputs, ...news });

    it("changes nothing when the engine matches", async () => {
        expect(await diff({})).toEqual({ changes: false, replaces: [] });
    });

    it("repairs a stopped or unhealthy container, and hand-changed settings, in place", async () => {
        expect(await diff({ running: false })).toEqual({ changes: true, replaces: [] });
        expect(await diff({ unhealthy: true })).toEqual({ changes: true, replaces: [] });
        expect(await diff({ restart: "no", memoryBytes: 64 * 1024 ** 2 })).toEqual({ changes: true, replaces: [] });
    });

    it("records the address a container the engine started again runs on now, so the proxy's routes follow", async () => {
        expect(await diff({ address: "172.18.0.9" })).toEqual({ changes: true, replaces: [] });
        expect(containerDiff({ ...recorded, running: false, address: "" }, recorded, inputs)).toEqual({ changes: true, replaces: [] });
        const { address, ...beforeAddresses } = recorded;
        expect(containerDiff(beforeAddresses as RecordedState, recorded, inputs)).toEqual({ changes: false, replaces: [] });
    });

    it("replaces a container detached from its network, running another image, or with a limit to lift", async () => {
        expect((await diff({ networks: [] })).replaces).toEqual(["networks"]);
        expect((await diff({ image: "other@sha256:" + "b".repeat(64) })).replaces).toEqual(["image"]);
        expect((await diff({}, { memoryBytes: 0 })).replaces).toEqual(["memoryBytes"]);
    });
});

describe("log rotation", () => {
    const rotation = { maxSize: "10m", maxFiles: 3 };

    it("rotates where the driver keeps files, the engine's default included", () => {
        expect(effectiveLogOptions({ logDriver: "", logOptions: {}, logRotation: rotation }, "json-file")).toEqual({ "max-size": "10m", "max-file": "3" });
        expect(effectiveLogOptions({ logDriver: "local", logOptions: {}, logRotation: rotation }, "syslog")).toEqual({ "max-size": "10m", "max-file": "3" });
    });

    it("leaves drivers that keep no files alone, and lets the stack's own options win", () => {
        expect(effectiveLogOptions({ logDriver: "syslog", logOptions: { tag: "shop" }, logRotation: rotation }, "json-file")).toEqual({ tag: "shop" });
        expect(effectiveLogOptions({ logDriver: "", logOptions: {}, logRotation: rotation }, "journald")).toEqual({});
        expect(effectiveLogOptions({ logDriver: "json-file", logOptions: { "max-size": "1m" }, logRotation: rotation }, "")).toEqual({ "max-size": "1m", "max-file": "3" });
    });

    it("reaches docker create", () => {
        const args = createArgs("n", { ...inputs, logDriver: "", logOptions: {}, logRotation: rotation }, "json-file");
        expect(args.join(" ")).toContain("--log-opt max-file=3 --log-opt max-size=10m");
    });
});
