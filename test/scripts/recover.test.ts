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
