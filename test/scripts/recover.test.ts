import { describe, expect, it } from "vitest";
import { orphans, ownedContainers, passphraseProblem } from "../../scripts/recover";
import { judgeLocks } from "../../scripts/stateLocks";

describe("recovering a stack after a killed run", () => {
    it("removes only locks of this machine whose process is gone (a file backend keeps no heartbeat)", () => {
        const locks = [
            { key: "a", pid: 100, hostname: "ci-1", username: "ci", timestamp: "" },
            { key: "b", pid: 200, hostname: "ci-1", username: "ci", timestamp: "" },
            { key: "c", pid: 100, hostname: "laptop", username: "dev", timestamp: "" },
        ];
        expect(judgeLocks(locks, { hostname: "ci-1", isAlive: (pid) => pid === 200 }, new Date()).filter((j) => j.stale).map((j) => j.lock.key)).toEqual(["a"]);
    });

    it("knows the containers state owns, and the engines they run on", () => {
        const { names, hosts } = ownedContainers({
            resources: [
                { type: "pulumi-nodejs:dynamic/berth:DockerContainer", id: "berth-s-shop-aaaaaa", outputs: { host: "", name: "berth-s-shop-bbbbbb" } },
                { type: "pulumi-nodejs:dynamic/berth:DockerNetwork", id: "berth-s-net", outputs: { host: "" } },
                { type: "pulumi:pulumi:Stack", id: "" },
            ],
            pending_operations: [{ type: "creating", resource: { type: "pulumi-nodejs:dynamic/berth:DockerContainer", outputs: {} } }],
        });
        expect([...names].sort()).toEqual(["berth-s-shop-aaaaaa", "berth-s-shop-bbbbbb"]);
        expect([...hosts]).toEqual([""]);
    });

    it("calls every labelled container state does not own an orphan", () => {
        expect(orphans(["berth-s-shop-bbbbbb", "berth-s-shop-cccccc", "berth-s-tests-dddddd"], new Set(["berth-s-shop-bbbbbb"])))
            .toEqual(["berth-s-shop-cccccc", "berth-s-tests-dddddd"]);
    });
});

describe("an engine that does not answer during recovery", () => {
    it("names the stack, the host, what was tried, what the CLI said and what to do", async () => {
        const { unreachableMessage } = await import("../../scripts/recover");
        expect(unreachableMessage("production", "ssh://deploy@prod-1.internal", "Cannot connect to the Docker daemon at http://docker.example.com. Is the docker daemon running?\n")).toBe([
            "stack production: ssh://deploy@prod-1.internal does not answer, so berth could not look for containers an interrupted run left there (docker ps --filter label=berth.stack=production). Nothing was changed on any host.",
            "What the docker CLI said: Cannot connect to the Docker daemon at http://docker.example.com. Is the docker daemon running?",
            "ssh://deploy@prod-1.internal: its Docker engine does not answer. Start dockerd there (systemctl start docker).",
        ].join("\n"));
        expect(unreachableMessage("dev", "", "something else")).toMatch(/Check that the local Docker engine answers \(is the machine up, does dockerd run there\?\), then run again/);
    });
});

describe("a passphrase that does not open a stack's secrets", () => {
    it("stops the entry point naming the stack, Pulumi's reason and what to set, the backend's password masked", () => {
        expect(passphraseProblem("staging", "postgres://berth:pw@10.0.0.5:5432/berth_state", "error: incorrect passphrase\n")).toBe([
            "stack staging: its secrets cannot be opened with this machine's passphrase (Pulumi: incorrect passphrase). Nothing was run.",
            "Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the passphrase of the stacks in postgres://berth:***@10.0.0.5:5432/berth_state: a team shares one (README \"Teams\").",
        ].join("\n"));
        expect(passphraseProblem("staging", "file:///x", "error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables")).toMatch(/^stack staging: .*\(Pulumi: passphrase must be set with/);
        // Any other failure (no such stack yet) is left to the operation itself.
        expect(passphraseProblem("staging", "file:///x", "error: no stack named 'staging' found")).toBeUndefined();
    });
});
