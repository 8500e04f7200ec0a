import { describe, expect, it } from "vitest";
import { BRANCH_PORTS, branchDomains, branchStackName, pickHostPort } from "../../components/branches";

describe("branchStackName", () => {
    it("sanitises slashes, case and punctuation", () => {
        expect(branchStackName("feature/Login-Page")).toBe("branch-feature-login-page");
        expect(branchStackName("fix/#42: cache__bust!")).toBe("branch-fix-42-cache-bust");
        expect(branchStackName("release/2.1")).toBe("branch-release-2-1");
    });

    it("shortens long names with a hash of the whole name, so two long names stay apart", () => {
        const a = branchStackName(`feature/${"x".repeat(60)}-a`);
        const b = branchStackName(`feature/${"x".repeat(60)}-b`);
        expect(a).toMatch(/^branch-feature-x+-[0-9a-f]{6}$/);
        expect(a.length).toBeLessThanOrEqual("branch-".length + 40);
        expect(a).not.toBe(b);
    });

    it.each([
        ["", "it is empty"],
        ["   ", "it is empty"],
        ["///--__", "it has no letters or digits"],
        ["x".repeat(101), "it has 101 characters; at most 100"],
    ])("refuses %j: %s", (branch, problem) => {
        expect(() => branchStackName(branch)).toThrow(`invalid branch name ${JSON.stringify(branch)}: ${problem}`);
    });
});

describe("pickHostPort", () => {
    it("is stable for a stack and stays in berth's branch range", () => {
        const port = pickHostPort("branch-a", new Set());
        expect(pickHostPort("branch-a", new Set())).toBe(port);
        expect(port).toBeGreaterThanOrEqual(BRANCH_PORTS.first);
        expect(port).toBeLessThan(BRANCH_PORTS.first + BRANCH_PORTS.count);
    });

    it("never hands out a port another branch stack holds, wrapping at the end of the range", () => {
        const port = pickHostPort("branch-a", new Set());
        expect(pickHostPort("branch-a", new Set([port]))).not.toBe(port);
        const last = BRANCH_PORTS.first + BRANCH_PORTS.count - 1;
        const allButFirst = new Set(Array.from({ length: BRANCH_PORTS.count - 1 }, (_, i) => BRANCH_PORTS.first + 1 + i));
        expect(allButFirst.has(last)).toBe(true);
        expect(pickHostPort("branch-a", allButFirst)).toBe(BRANCH_PORTS.first);
    });
});

describe("branchDomains", () => {
    it("gives a branch stack the template's names with {branch} as its slug, a DNS label", () => {
        expect(branchDomains(["{branch}.staging.shop.test", "api-{branch}.staging.shop.test"], branchStackName("feature/Login-Page")))
            .toEqual(["feature-login-page.staging.shop.test", "api-feature-login-page.staging.shop.test"]);
        const long = branchStackName(`feature/${"x".repeat(80)}`);
        expect((branchDomains(["{branch}.shop.test"], long) as string[])[0].split(".")[0].length).toBeLessThanOrEqual(40);
        expect(branchDomains("not a list", "branch-x")).toBe("not a list");
    });
});
