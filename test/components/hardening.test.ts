import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { configWithDefaults } from "../../components/config/defaults";
import { checkFields, checkNoSecretsInPlainKeys, describeValue, hashedHostMatches, parseKnownHosts, parseDataPath, parseLabels, parseLogDriver, parseSettings } from "../../components/config";
import { cliEnvironmentClash } from "../../components/docker/cliEnvironment";
import { cliEnvironment, mountSpec, trustStackHostKeys, useStackKnownHosts } from "../../components/docker/cli";
import { createArgs, DockerContainerInputs } from "../../components/docker/commands/container";
import { exitMeaning } from "../../components/docker/health";
import { refuseMajorUpgrade, swapsInPlace } from "../../components/docker/providers/container";
import { roleProcess } from "../../components/deployment";
import { collidingStacks, registryAuth } from "../../components/engineCheck";
import { refuseOtherStacks } from "../../components/docker/resource";
import { hostAddresses } from "../../components/environment";

/** Pulumi.yaml's defaults, as the engine hands them to the program (objects as JSON text). */
const defaults = configWithDefaults({ services: {}, dependsOn: [] });
const settingsWith = (overrides: Record<string, string>) => parseSettings((key) => (key in overrides ? overrides[key] : defaults(key)));
const errorOf = (run: () => unknown): string => {
    try {
        run();
    } catch (err) {
        return (err as Error).message;
    }
    throw new Error("expected a refusal");
};

describe("values that land in a --mount spec", () => {
    it("refuses a data path that would add mount fields, naming the key", () => {
        const message = errorOf(() => settingsWith({ services: JSON.stringify({ files: { kind: "custom", image: "minio/minio:1", port: 9000, dataPath: "/data,type=bind,source=/" } }) }));
        expect(message).toBe('invalid config berth:services.files.dataPath = "/data,type=bind,source=/": use an absolute path inside the container of letters, digits and . _ @ + - (no commas, =, spaces or .. segments), e.g. /var/lib/app');
    });

    it("takes plain absolute paths only", () => {
        for (const path of ["/data", "/var/lib/minio/", "/srv/app-data_1.2", "/home/@me+x"]) expect(parseDataPath("dataPath", path)).toBe(path);
        for (const path of ["data", "/", "/data/../etc", "/a/./b", "/a b", "/a=b", '/a"b', "/a\nb", "//x"]) expect(() => parseDataPath("dataPath", path)).toThrow(/dataPath/);
    });

    it("builds mount specs only from values that cannot add fields", () => {
        expect(mountSpec({ source: "berth-dev-pg-data", target: "/var/lib/postgresql/data", readOnly: false })).toBe("type=volume,source=berth-dev-pg-data,target=/var/lib/postgresql/data");
        expect(mountSpec({ source: "v", target: "/d", readOnly: true })).toBe("type=volume,source=v,target=/d,readonly");
        expect(() => mountSpec({ source: "v", target: "/data,type=bind,source=/", readOnly: false })).toThrow(/target .* commas, =/);
        expect(() => mountSpec({ source: "v=x", target: "/d", readOnly: false })).toThrow(/source/);
    });

    it("gives a service container exactly one mount flag, whole", () => {
        const inputs: DockerContainerInputs = {
            host: "", namePrefix: "berth-dev-files", image: "minio/minio:1", command: [], env: {}, labels: { "berth.stack": "dev" }, networks: [], ports: [],
            volumes: [{ source: "berth-dev-files-data", target: "/data", readOnly: false }], restart: "unless-stopped", memoryBytes: 0, cpus: 0,
            stopTimeoutSeconds: 30, logDriver: "", logOptions: {}, healthTimeoutSeconds: 0,
        };
        expect(createArgs("berth-dev-files-abc123", inputs, "syslog")).toEqual([
            "create", "--name", "berth-dev-files-abc123", "--label", "berth.stack=dev", "--restart", "unless-stopped", "--stop-timeout", "30",
            "--mount=type=volume,source=berth-dev-files-data,target=/data", "minio/minio:1",
        ]);
    });
});

describe("unknown keys at any depth", () => {
    it("refuses typos inside services and healthchecks with the path and the closest field, all at once", () => {
        const message = errorOf(() => settingsWith({
            services: JSON.stringify({ redis: { kind: "redis", hostport: 6379 } }),
            healthcheck: JSON.stringify({ command: "true", intervalSecond: 5 }),
        }));
        expect(message.split("\n")).toEqual([
            "invalid config berth:services.redis.hostport = 6379: not a service setting: use kind, image, hostPort, env, port, dataPath, healthcheck, memory, host (did you mean hostPort?)",
            "invalid config berth:healthcheck.intervalSecond = 5: not a healthcheck setting: use command, intervalSeconds, timeoutSeconds, retries, startPeriodSeconds (did you mean intervalSeconds?)",
        ]);
    });

    it("checks a service's own healthcheck and a role's the same way", () => {
        expect(errorOf(() => settingsWith({ services: JSON.stringify({ q: { kind: "custom", image: "q:1", port: 1, dataPath: "/d", healthcheck: { command: "true", retrys: 2 } } }) })))
            .toMatch(/berth:services\.q\.healthcheck\.retrys = 2: not a healthcheck setting: use .* \(did you mean retries\?\)/);
        expect(errorOf(() => settingsWith({ roles: JSON.stringify({ worker: { command: "node w.js", replica: 2 } }) })))
            .toMatch(/berth:roles\.worker\.replica = 2: not a role setting: use .* \(did you mean replicas\?\)/);
    });

    it("suggests nothing when no field is close", () => {
        expect(() => checkFields("x", { zzzzzzzz: 1 }, ["command"], "a thing")).toThrow('invalid config berth:x.zzzzzzzz = 1: not a thing: use command');
    });
});

describe("errors never print nested values", () => {
    it("describes objects and lists by their shape", () => {
        expect(describeValue({ kind: "postgres", env: { POSTGRES_PASSWORD: "hunter2" } })).toBe("{ kind, env }");
        expect(describeValue(["a", { password: "hunter2" }])).toBe('["a",{ password }]');
        expect(describeValue("text")).toBe('"text"');
        expect(describeValue(null)).toBe("null");
    });

    it("a custom service without a port names the field, not the service with its env", () => {
        const message = errorOf(() => settingsWith({ services: JSON.stringify({ q: { kind: "custom", image: "q:1", dataPath: "/d", env: { TOKEN: "hunter2" } } }) }));
        expect(message).toBe("invalid config berth:services.q.port = null: a custom service needs the port it listens on");
        expect(message).not.toContain("hunter2");
    });
});

describe("labels, log driver and environment names", () => {
    it("refuses labels in berth's or Docker's namespaces", () => {
        expect(errorOf(() => parseLabels("labels", { "berth.stack": "production", "com.docker.compose.project": "x", team: "a" })).split("\n")).toEqual([
            'invalid config berth:labels.berth.stack = "production": berth.* labels are berth\'s own (how it finds each stack\'s objects) and com.docker.*, io.docker.*, org.dockerproject.* Docker\'s: use your own namespace, e.g. com.example.team',
            'invalid config berth:labels.com.docker.compose.project = "x": berth.* labels are berth\'s own (how it finds each stack\'s objects) and com.docker.*, io.docker.*, org.dockerproject.* Docker\'s: use your own namespace, e.g. com.example.team',
        ]);
        expect(parseLabels("labels", { "com.example.team": "a" })).toEqual({ "com.example.team": "a" });
        expect(() => parseLabels("labels", { "a=b": "c" })).toThrow(/label keys/);
    });

    it("takes log drivers by name, never a flag", () => {
        for (const driver of ["", "json-file", "syslog", "grafana/loki-docker-driver:2.9.1"]) expect(parseLogDriver("logDriver", driver)).toBe(driver);
        for (const driver of ["--privileged", "-v", "syslog --log-opt x", "Syslog"]) expect(() => parseLogDriver("logDriver", driver)).toThrow(/berth:logDriver/);
        expect(() => settingsWith({ logOptions: JSON.stringify({ "--x": "1" }) })).toThrow(/berth:logOptions\.--x/);
    });

    it("keeps multi-line values out of the names the docker CLI's process reads", () => {
        expect(cliEnvironmentClash({ LD_PRELOAD: "/tmp/x.so\n", APP_KEY: "a\nb" })).toBe("LD_PRELOAD");
        expect(cliEnvironmentClash({ NODE_OPTIONS: "--require\n/x", CERT: "-----BEGIN\n" })).toBe("NODE_OPTIONS");
        expect(cliEnvironmentClash({ LD_PRELOAD: "one line goes in the env-file", CERT: "-----BEGIN\n" })).toBeUndefined();
        expect(errorOf(() => settingsWith({ env: JSON.stringify({ LD_PRELOAD: "a\nb" }) }))).toMatch(/^invalid config berth:env\.LD_PRELOAD = "\(multi-line value\)": LD_PRELOAD holds a multi-line/);
    });
});

describe("host addresses", () => {
    it("resolves named hosts once, in one lookup, and keeps IPs as they are", () => {
        const asked: string[][] = [];
        const addresses = hostAddresses(["ssh://deploy@10.1.0.11", "ssh://deploy@db.internal", "ssh://deploy@db.internal"], (names) => {
            asked.push(names);
            return JSON.stringify({ "db.internal": "10.1.0.12" });
        });
        expect(asked).toEqual([["db.internal"]]);
        expect([...addresses]).toEqual([["ssh://deploy@10.1.0.11", "10.1.0.11"], ["ssh://deploy@db.internal", "10.1.0.12"]]);
    });

    it("names every host that does not resolve, and what to check, at once", () => {
        const lookup = () => JSON.stringify({ "a.invalid": { error: "ENOTFOUND" }, "b.invalid": { error: "EAI_AGAIN" } });
        expect(() => hostAddresses(["ssh://deploy@a.invalid", "ssh://deploy@b.invalid"], lookup)).toThrow(
            "ssh://deploy@a.invalid: its name a.invalid does not resolve from this machine (ENOTFOUND)\n"
            + "ssh://deploy@b.invalid: its name b.invalid does not resolve from this machine (EAI_AGAIN)\n"
            + "Check the addresses in berth:hosts and this machine's DNS (or /etc/hosts); nothing was changed.");
    });

    it("counts a lookup that did not end in time as no answer for each name", () => {
        const lookup = () => {
            throw new Error("spawnSync node ETIMEDOUT");
        };
        expect(() => hostAddresses(["ssh://deploy@slow.example"], lookup)).toThrow("ssh://deploy@slow.example: its name slow.example does not resolve from this machine (no answer within 10 s)");
    });
});

describe("secrets only where berth keeps them secret", () => {
    it("refuses keys read as plain text that were set as secrets, naming each with the alternative, never the value", () => {
        const secret = new Set(["buildArgs", "env", "registryPassword", "redisPassword", "secretEnv"]);
        const message = errorOf(() => checkNoSecretsInPlainKeys(["buildArgs", "env", "app", "registryPassword", "redisPassword", "secretEnv"], (key) => secret.has(key), ["registryPassword", "secretEnv", "redisPassword"]));
        expect(message.split("\n")).toEqual([
            'invalid config berth:buildArgs = "(secret)": berth reads this key as plain text, so a secret in it would not stay secret: build args are on docker build\'s command line and in the image\'s history (docker history) for anyone who pulls it: give the app the value at run time as a secret variable (pulumi config set --secret --path \'berth:secretEnv.NAME\' value), or prepare what needs it before the build (e.g. vendor the private packages into the build context)',
            'invalid config berth:env = "(secret)": berth reads this key as plain text, so a secret in it would not stay secret: berth:env is plain text in state and in docker inspect\'s command history: use berth:secretEnv for secret variables (pulumi config set --secret --path \'berth:secretEnv.NAME\' value)',
        ]);
    });
});

describe("role commands as users write them", () => {
    it.each([
        ["node worker.js", false],
        ["bundle exec sidekiq -q default", false],
        ["node -e 'console.log(1)'", false],
        ["cd /app && node worker.js", true],
        ["node a.js; node b.js", true],
        ["node worker.js | tee /tmp/log", true],
        ["node worker.js > /tmp/log 2>&1", true],
        ["RAILS_ENV=production bundle exec sidekiq", true],
        ["export A=1", true],
        ["node $(cat /app/entry)", true],
        ['node -e "a(); b() | c"', false],
    ])("%s → through the shell under init: %s", (command, compound) => {
        expect(roleProcess(command)).toEqual(compound
            ? { command: ["/bin/sh", "-c", `trap "exit 143" TERM INT; ${command}`], init: true, env: { TINI_KILL_PROCESS_GROUP: "1" } }
            : { command: ["/bin/sh", "-c", `exec ${command}`], init: false, env: {} });
    });

    it("a compound role's container runs Docker's init, its whole argv compared", () => {
        const { command, init } = roleProcess("cd /app && node worker.js");
        const inputs: DockerContainerInputs = {
            host: "", namePrefix: "berth-dev-shop-worker", image: "shop@sha256:1", command, init, env: {}, labels: {}, networks: [], ports: [], volumes: [],
            restart: "unless-stopped", memoryBytes: 0, cpus: 0, noHealthcheck: true, stopTimeoutSeconds: 5, logDriver: "syslog", logOptions: {}, healthTimeoutSeconds: 0,
        };
        expect(createArgs("w", inputs)).toEqual([
            "create", "--name", "w", "--restart", "unless-stopped", "--stop-timeout", "5", "--log-driver", "syslog", "--init", "--no-healthcheck",
            "shop@sha256:1", "/bin/sh", "-c", 'trap "exit 143" TERM INT; cd /app && node worker.js',
        ]);
    });

    it("says why a command never ran", () => {
        expect(exitMeaning(127)).toBe(": the shell found no such command (a typo, or a program missing from the image)");
        expect(exitMeaning(126)).toBe(": the command is not executable (its file mode, or a directory)");
        expect(exitMeaning(3)).toBe("");
    });
});

describe("stacks that would share Docker names", () => {
    it("finds the other stacks whose names become this stack's Docker names, and only those", () => {
        expect(collidingStacks("team-a", ["team_a", "team-a", "Team.A", "team", "team-ab", "team-a-b", ""])).toEqual(["Team.A", "team_a"]);
        expect(collidingStacks("staging", ["staging", "production"])).toEqual([]);
    });

    it("never takes over or removes a network or volume another stack's label claims", () => {
        const mine = { "berth.stack": "team_a" };
        expect(() => refuseOtherStacks("data volume", "berth-team-a-postgres-data", "", { Labels: { "berth.stack": "team-a" } }, mine, "remove")).toThrow(
            "data volume berth-team-a-postgres-data on the local engine belongs to stack team-a, not team_a: berth did not remove it. Two stacks whose names differ only in _, . or case share Docker names: use another stack name.");
        expect(() => refuseOtherStacks("network", "n", "", { Labels: mine }, mine, "use")).not.toThrow();
        expect(() => refuseOtherStacks("network", "n", "", undefined, mine, "use")).not.toThrow();
        expect(() => refuseOtherStacks("network", "n", "", { Labels: null }, mine, "use")).not.toThrow();
    });
});

describe("a service's container changed on its data volume", () => {
    it("is swapped in place (guarded) when it keeps its host, name and volume; replaced otherwise", () => {
        const withVolume = { volumes: [{ source: "berth-dev-postgres-data", target: "/var/lib/postgresql/data", readOnly: false }] };
        expect(swapsInPlace(["image"], withVolume)).toBe(true);
        expect(swapsInPlace(["image", "envHash", "ports"], withVolume)).toBe(true);
        expect(swapsInPlace(["host"], withVolume)).toBe(false);
        expect(swapsInPlace(["image", "volumes"], withVolume)).toBe(false);
        expect(swapsInPlace([], withVolume)).toBe(false);
        expect(swapsInPlace(["image"], { volumes: [] })).toBe(false);
    });

    it("refuses a major version change of a database server, with the upgrade procedure", () => {
        expect(() => refuseMajorUpgrade("postgres:15", "postgres:16-alpine", "berth-dev-postgres-1")).toThrow(
            /^berth-dev-postgres-1: postgres:15 → postgres:16-alpine changes postgres's major version \(15 → 16\) on an existing data volume, which postgres 16 cannot read\. berth did not try; nothing changed\.\nTo upgrade: dump the data with version 15 \(pg_dumpall\)/);
        expect(() => refuseMajorUpgrade("registry:5000/berth/mysql:8", "registry:5000/berth/mysql:9.1", "m")).toThrow(/mysqldump --all-databases/);
        for (const [from, to] of [["postgres:15", "postgres:15.6"], ["postgres:15", "postgres@sha256:" + "a".repeat(64)], ["redis:6", "redis:7"], ["postgres:15", "timescale/timescaledb:2.14-pg16"], ["postgres:latest", "postgres:16"]]) {
            expect(() => refuseMajorUpgrade(from, to, "s")).not.toThrow();
        }
    });
});

describe("a stack's host keys", () => {
    // `ssh-keygen -H` of "10.1.0.11 ssh-ed25519 …": the name hashed with its salt, as OpenSSH writes known_hosts.
    const hashed = "|1|iOavzZy3gpZodxF7BuQbTFoTY6M=|Y2UZqFIrr8v1yNlUkPPwaFCmFWA= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB71b5I7qPG28s6RVOBO2Vdrrd6Gp3/WAhzobO7IkL6X";

    it("match a hashed name only to the host it hashes", () => {
        expect(hashedHostMatches(hashed.split(" ")[0], "10.1.0.11")).toBe(true);
        expect(hashedHostMatches(hashed.split(" ")[0], "10.1.0.12")).toBe(false);
        expect(hashedHostMatches("|2|x|y", "10.1.0.11")).toBe(false);
    });

    it("take a hashed line for one of berth:hosts, and refuse one for any other host", () => {
        expect(parseKnownHosts("knownHosts", [hashed], ["ssh://deploy@10.1.0.11"])).toEqual([hashed]);
        expect(() => parseKnownHosts("knownHosts", [hashed], ["ssh://deploy@10.1.0.12"])).toThrow(
            'invalid config berth:knownHosts[0] = "|1|iOavzZy3gpZodxF7BuQbTFoTY6M=|Y2UZqFIrr8v1yNlUkPPwaFCmFWA=": this hashed name is none of berth:hosts\' ssh:// hosts (10.1.0.12): a stack carries keys for its own hosts only');
    });
});

describe("whose host keys a connection trusts", () => {
    it("an ssh:// engine's calls carry the deploying stack's key file, and never one inherited from elsewhere", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-keys-"));
        try {
            trustStackHostKeys("berth.a", ["10.1.0.11 ssh-ed25519 AAAA"], dir);
            expect(fs.readFileSync(path.join(dir, "berth.a"), "utf8")).toBe("10.1.0.11 ssh-ed25519 AAAA\n");
            expect(cliEnvironment("ssh://deploy@10.1.0.11", {}, { PATH: "/usr/bin" }).BERTH_KNOWN_HOSTS).toBe(path.join(dir, "berth.a"));
            useStackKnownHosts("berth.b", dir);
            expect(cliEnvironment("ssh://deploy@10.1.0.11", {}, { PATH: "/usr/bin", BERTH_KNOWN_HOSTS: "/tmp/other" }).BERTH_KNOWN_HOSTS).toBe(path.join(dir, "berth.b"));
            expect(cliEnvironment("", {}, { PATH: "/usr/bin" })).toEqual({ PATH: "/usr/bin" });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("a service image looked up in its registry", () => {
    it("sends the login as the Engine API's X-Registry-Auth: base64url JSON", () => {
        const header = registryAuth({ server: "10.0.0.5:5000", username: "ci", password: "p+/=?" })["X-Registry-Auth"];
        expect(header).not.toMatch(/[+/=]/);
        expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual({ username: "ci", password: "p+/=?", serveraddress: "10.0.0.5:5000" });
    });
});

