import { describe, expect, it } from "vitest";
import { deployer, historyLine, pairUp, updateMessage, whoRan } from "../../scripts/history";

const checkpoint = (imageRef: string) => ({ version: 3, checkpoint: { latest: { resources: [{ type: "pulumi:pulumi:Stack", outputs: { imageRef } }, { type: "berth:index:Environment" }] } } });
const update = (startTime: number, result: string, changes: Record<string, number>, message = "") => ({
    kind: "update", startTime, result, resourceChanges: changes, message, environment: { "git.author": "Alice", "git.head": "a1b2c3d4e5f6", "git.dirty": "false" },
});

describe("npm run history", () => {
    it("pairs each update with its final checkpoint's released image, newest first", () => {
        const files = new Map<string, unknown>([
            ["s-100.history.json", update(1796396774, "succeeded", { create: 25 })], ["s-100.checkpoint.json", checkpoint("reg/shop/s@sha256:aaa")],
            ["s-200.history.json", update(1796396874, "failed", { same: 20, update: 1 }, updateMessage("Checkout: retry", "bob@laptop-b"))], ["s-200.checkpoint.json", checkpoint("reg/shop/s@sha256:bbb")],
        ]);
        expect(pairUp(files).map(historyLine)).toEqual([
            "2026-12-04 15:07:54 UTC  update   failed     bob@laptop-b (a1b2c3d)  reg/shop/s@sha256:bbb  update 1",
            "2026-12-04 15:06:14 UTC  update   succeeded  Alice (a1b2c3d)  reg/shop/s@sha256:aaa  create 25",
        ]);
    });

    it("records who ran an update in its message, after the commit's subject", () => {
        expect(updateMessage("Checkout: retry", "bob@laptop-b")).toBe("Checkout: retry (by bob@laptop-b)");
        expect(updateMessage("", "bob@laptop-b")).toBe("(by bob@laptop-b)");
        expect(whoRan({ kind: "update", startTime: 0, result: "succeeded", message: "Fix (by x) (by ci@runner-7)" })).toBe("ci@runner-7");
        expect(whoRan({ kind: "update", startTime: 0, result: "succeeded", message: "by hand", environment: { "git.author": "Alice" } })).toBe("Alice");
        expect(deployer({ GITHUB_ACTOR: "octocat" })).toMatch(/^octocat@/);
    });
});
