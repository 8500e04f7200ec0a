import { describe, expect, it } from "vitest";
import { parseRoles } from "../../components/config";
import { createArgs } from "../../components/docker/commands/container";
import { roleFilters } from "../../scripts/replicas";

const app = { memoryBytes: 256 * 1024 ** 2, cpus: 0, restart: "unless-stopped", stopTimeoutSeconds: 20 };

/** berth:roles: processes from the app's image besides web. */
describe("process roles", () => {
    it("take a command and default their limits, restart policy and stop timeout to the app's", () => {
        expect(parseRoles("roles", { worker: { command: "node worker.js", replicas: 2 }, clock: { command: " node clock.js ", memory: "64m", upSeconds: 3 } }, app)).toEqual([
            { name: "worker", command: "node worker.js", replicas: 2, memoryBytes: app.memoryBytes, cpus: 0, restart: "unless-stopped", healthcheck: undefined, upSeconds: 10, stopTimeoutSeconds: 20 },
            { name: "clock", command: "node clock.js", replicas: 1, memoryBytes: 64 * 1024 ** 2, cpus: 0, restart: "unless-stopped", healthcheck: undefined, upSeconds: 3, stopTimeoutSeconds: 20 },
        ]);
        expect(parseRoles("roles", { worker: { command: "node worker.js", healthcheck: { command: "test -f /tmp/alive" } } }, app)[0].healthcheck)
            .toMatchObject({ command: "test -f /tmp/alive" });
        expect(parseRoles("roles", {}, app)).toEqual([]);
    });

    it("refuse web, a missing command, unknown settings and bad values, naming the key", () => {
        expect(() => parseRoles("roles", { web: { command: "node server.js" } }, app)).toThrow(/berth:roles.web = .*web is the app's own role/);
        expect(() => parseRoles("roles", { worker: { replicas: 2 } }, app)).toThrow('invalid config berth:roles.worker.command = null: a role needs a command, run by the image\'s shell, e.g. "node worker.js"');
        expect(() => parseRoles("roles", { worker: { command: "  " } }, app)).toThrow(/berth:roles.worker.command = "  ": a role needs a command/);
        expect(() => parseRoles("roles", { worker: { command: "x", replica: 2 } }, app)).toThrow(/berth:roles.worker.replica = 2: not a role setting: use command, replicas/);
        expect(() => parseRoles("roles", { worker: { command: "x", replicas: 0 } }, app)).toThrow(/berth:roles.worker.replicas = "0"/);
        expect(() => parseRoles("roles", { Worker: { command: "x" } }, app)).toThrow(/berth:roles.Worker = .*role names are/);
        expect(() => parseRoles("roles", ["worker"], app)).toThrow(/berth:roles = \["worker"\]: use a map of role names/);
        expect(() => parseRoles("roles", { worker: { command: "x", restart: "sometimes" } }, app)).toThrow(/berth:roles.worker.restart/);
    });

    it("run without the image's healthcheck when they have none of their own, and are found by their labels", () => {
        const inputs = {
            host: "", namePrefix: "w", image: "img", command: ["/bin/sh", "-c", "exec node worker.js"], env: {}, labels: {}, networks: [], ports: [], volumes: [],
            restart: "no", memoryBytes: 0, cpus: 0, stopTimeoutSeconds: 10, logDriver: "", logOptions: {}, healthTimeoutSeconds: 40, noHealthcheck: true, upSeconds: 5,
        };
        const args = createArgs("w-1", inputs);
        expect(args).toContain("--no-healthcheck");
        expect(args.slice(-4)).toEqual(["img", "/bin/sh", "-c", "exec node worker.js"]);
        expect(createArgs("w-1", { ...inputs, healthcheck: { command: "true", intervalSeconds: 1, timeoutSeconds: 1, retries: 1, startPeriodSeconds: 0 } })).not.toContain("--no-healthcheck");
        expect(roleFilters("s", "web")).toEqual(["--filter", "label=berth.stack=s", "--filter", "label=berth.role=app"]);
        expect(roleFilters("s", "worker")).toEqual(["--filter", "label=berth.stack=s", "--filter", "label=berth.role=worker", "--filter", "label=berth.process=worker"]);
    });
});
