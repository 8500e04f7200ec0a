import { describe, expect, it } from "vitest";
import { contractProblems, isGitUrl, listeningPorts, parseInitOptions, secretsToSet, stackFile } from "../../scripts/init";
import { schemaDefaults } from "../../components/config/defaults";

const check = { port: 8080, listening: [8080], healthcheck: "curl -f http://127.0.0.1:8080/", health: "healthy" as const, hasShell: true, logs: "" };
const options = { stack: "prod", app: "api", context: "apps/api", hosts: [], registry: "", port: 8080, services: [] };

describe("npm run init, its pure parts", () => {
    it("tells a git URL from a directory", () => {
        for (const url of ["https://github.com/org/api.git", "git@github.com:org/api.git", "ssh://git@host/api", "file:///srv/api"]) expect(isGitUrl(url), url).toBe(true);
        for (const dir of ["../api", "/srv/api", "apps/api"]) expect(isGitUrl(dir), dir).toBe(false);
    });

    it("checks every option against berth's grammar at once", () => {
        expect(parseInitOptions({ stack: "staging", app: "api", context: "../api", hosts: "ssh://deploy@10.0.0.1,ssh://deploy@10.0.0.2", registry: "ghcr.io/org", port: "3000", services: "redis,postgres" }, 8080))
            .toEqual({ stack: "staging", app: "api", context: "../api", hosts: ["ssh://deploy@10.0.0.1", "ssh://deploy@10.0.0.2"], registry: "ghcr.io/org", port: 3000, services: ["redis", "postgres"] });
        expect(parseInitOptions({ stack: "s", app: "api", context: "." }, 8080).port).toBe(8080);
        let message = "";
        try {
            parseInitOptions({ stack: "a b", app: "API", context: ".", hosts: "ftp://x", registry: "http://r/", port: "0", services: "mongo" }, 8080);
        } catch (err) {
            message = (err as Error).message;
        }
        for (const key of ["--stack", "--app", "--hosts[0]", "--registry", "--port", "--services[0]"]) expect(message).toContain(`${key} = `);
        expect(() => parseInitOptions({ stack: "s", app: "api" }, 8080)).toThrow(/--context is required/);
    });

    it("reads the listening TCP ports of /proc/<pid>/net/tcp and tcp6", () => {
        const tcp = [
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
            "   1: 0100007F:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1",
            "   2: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 3 1",
            "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4 1",
        ].join("\n");
        expect(listeningPorts(tcp)).toEqual([5000, 8080]);
        expect(listeningPorts("")).toEqual([]);
    });

    it("names each part of the contract the image misses, with its fix", () => {
        expect(contractProblems(check)).toEqual([]);
        expect(contractProblems({ ...check, listening: [5000], healthcheck: "", health: "none" })).toEqual([
            "it listens on 5000, not on PORT=8080: read the port from $PORT, or run init again with --port 5000",
            expect.stringMatching(/^the image has no HEALTHCHECK: add one to its Dockerfile/),
        ]);
        expect(contractProblems({ ...check, listening: [] })).toEqual([expect.stringMatching(/^nothing listened on a TCP port within 30 s of starting with PORT=8080/)]);
        expect(contractProblems({ ...check, health: "unhealthy" })).toEqual(["its HEALTHCHECK (curl -f http://127.0.0.1:8080/) did not pass within 90 s (state: unhealthy)"]);
        expect(contractProblems({ ...check, hasShell: false }, true)).toEqual([expect.stringMatching(/no \/bin\/sh/)]);
    });

    it("writes only what differs from Pulumi.yaml's defaults, the sample's services off, quoted", () => {
        const defaults = schemaDefaults();
        expect(stackFile(options, defaults).split("\n").slice(2)).toEqual(["config:", '  berth:app: "api"', '  berth:appContext: "apps/api"', "  berth:services: {}", "  berth:dependsOn: []", ""]);
        const remote = { ...options, port: 3000, hosts: ["ssh://deploy@10.0.0.1", "ssh://deploy@10.0.0.2"], registry: "ghcr.io/org", services: ["redis", "postgres"] };
        expect(stackFile(remote, defaults).split("\n").slice(2)).toEqual(["config:", '  berth:app: "api"', '  berth:appContext: "apps/api"', "  berth:containerPort: 3000",
            "  berth:services: { redis: { kind: redis }, postgres: { kind: postgres } }", '  berth:dependsOn: ["redis","postgres"]',
            "  berth:hosts:", '    - "ssh://deploy@10.0.0.1"', '    - "ssh://deploy@10.0.0.2"', "  berth:replicas: 2", '  berth:bindAddress: "0.0.0.0"', '  berth:registry: "ghcr.io/org"', ""]);
        expect(secretsToSet(remote)).toEqual(["registryPassword", "redisPassword", "postgresPassword"]);
        expect(secretsToSet({ ...options, services: ["redis"] })).toEqual([]);
    });
});
