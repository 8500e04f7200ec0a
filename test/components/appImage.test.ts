import { describe, expect, it } from "vitest";
import { branchSegment, imageRepository, imageTag, referenceVersion } from "../../components/appImage";

describe("image naming (seed 003: <registry>/<app>/<branch>:<gitsha>)", () => {
    it("sanitises branch names into one path segment", () => {
        expect(branchSegment("main")).toBe("main");
        expect(branchSegment("feature/Login-Page")).toBe("feature-login-page");
        expect(branchSegment("--weird__")).toBe("weird");
        expect(branchSegment("///")).toBe("detached");
    });

    it("builds the repository path", () => {
        expect(imageRepository("127.0.0.1:5000", "shop", "feature/x")).toBe("127.0.0.1:5000/shop/feature-x");
    });

    it("tags a clean tree with its commit", () => {
        expect(imageTag({ commit: "0123456789ab", dirty: false, contextHash: "f".repeat(64) })).toBe("0123456789ab");
    });

    it("gives a dirty tree a distinct tag per content, never the commit's tag", () => {
        const a = imageTag({ commit: "0123456789ab", dirty: true, contextHash: "a".repeat(64) });
        const b = imageTag({ commit: "0123456789ab", dirty: true, contextHash: "b".repeat(64) });
        expect(a).toBe("0123456789ab-dirty-aaaaaaaaaaaa");
        expect(a).not.toBe(b);
    });

    it("falls back to the content digest outside git", () => {
        expect(imageTag({ dirty: false, contextHash: "c".repeat(64) })).toBe("src-cccccccccccc");
    });
});

describe("existing image references", () => {
    it("stand for their tag, else their digest", () => {
        expect(referenceVersion("registry.example.com:5000/shop/main:0123456789ab")).toBe("0123456789ab");
        expect(referenceVersion(`registry.example.com:5000/shop/main@sha256:${"a".repeat(64)}`)).toBe("sha256-aaaaaaaaaaaa");
        expect(referenceVersion(`shop/main:v2@sha256:${"a".repeat(64)}`)).toBe("v2");
    });
});
