import { describe, expect, it } from "vitest";
import { isDigestPinned, parseImageRef, repositoryOf } from "../../components/imageReference";

const digest = `sha256:${"a".repeat(64)}`;

describe("image references, parsed once", () => {
    it("split into registry, path, tag and digest as Docker reads them", () => {
        expect(parseImageRef("redis:7")).toEqual({ registry: "", path: "redis", tag: "7", digest: "" });
        expect(parseImageRef("team/app")).toEqual({ registry: "", path: "team/app", tag: "", digest: "" });
        expect(parseImageRef("localhost/app:v1")).toEqual({ registry: "localhost", path: "app", tag: "v1", digest: "" });
        expect(parseImageRef(`registry.example.com:5000/shop/main:v2@${digest}`)).toEqual({ registry: "registry.example.com:5000", path: "shop/main", tag: "v2", digest });
        expect(parseImageRef(`127.0.0.1:5000/berth/postgres@${digest}`)).toEqual({ registry: "127.0.0.1:5000", path: "berth/postgres", tag: "", digest });
    });

    it("refuse what docker pull would not take", () => {
        for (const bad of ["", "Redis:7", "-v", "app:", "app@sha256:abc", "a//b", "registry:5000/", "app:tag with space"]) expect(parseImageRef(bad)).toBeUndefined();
    });

    it("name the repository and tell a pinned reference from a moving one", () => {
        expect(repositoryOf(parseImageRef(`10.0.0.5:5000/shop/main:v2@${digest}`)!)).toBe("10.0.0.5:5000/shop/main");
        expect(repositoryOf(parseImageRef("redis:7")!)).toBe("redis");
        expect([`shop/main@${digest}`, "shop/main:v2", `sha256:${"a".repeat(64)}`, "NOT A REF"].map(isDigestPinned)).toEqual([true, false, false, false]);
    });
});
