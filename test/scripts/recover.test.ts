import { describe, expect, it } from "vitest";
import { orphans, ownedContainers, staleLocks } from "../../scripts/recover";

describe("recovering a stack after a killed run", () => {
    it("removes only locks of this machine whose process is gone", () => {
        const locks = [
            { file: "a", pid: 100, hostname: "ci-1", username: "ci" },
            { file: "b", pid: 200, hostname: "ci-1", username: "ci" },
            { file: "c", pid: 100, hostname: "laptop", username: "dev" },
        ];
        expect(staleLocks(locks, "ci-1", (pid) => pid === 200).map((l) => l.file)).toEqual(["a"]);
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
