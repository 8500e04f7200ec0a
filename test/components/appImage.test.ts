import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { branchSegment, imageRepository, imageTag, readSourceState, referenceVersion } from "../../components/appImage";

describe("image naming (seed 003: <registry>/<app>/<branch>:<gitsha>)", () => {
    it("sanitises branch names into one path segment", () => {
        expect(branchSegment("main")).toBe("main");
        expect(branchSegment("feature/Login-Page")).toBe("feature-login-page");
        expect(branchSegment("--weird__")).toBe("weird");
        expect(branchSegment("///")).toBe("detached");
    });

    it("builds the repository path from the registry, its namespace and berth:imageName", () => {
        const registry = (server: string, namespace: string, imageName: string) => ({ server, namespace, imageName });
        expect(imageRepository(registry("127.0.0.1:5000", "", "{app}/{branch}"), "shop", "feature/x")).toBe("127.0.0.1:5000/shop/feature-x");
        expect(imageRepository(registry("ghcr.io", "my-org", "{app}/{branch}"), "shop", "main")).toBe("ghcr.io/my-org/shop/main");
        expect(imageRepository(registry("docker.io", "team", "{app}-{branch}"), "shop", "Feature/Login")).toBe("docker.io/team/shop-feature-login");
        expect(imageRepository(registry("registry.example.com", "a/b", "apps/{branch}"), "shop", "main")).toBe("registry.example.com/a/b/apps/main");
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

describe("readSourceState (a real git repository)", () => {
    it("tags with the last commit that touched the app, so commits elsewhere release nothing", () => {
        const repo = fs.mkdtempSync(path.join(os.tmpdir(), "berth-git-"));
        const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: repo, encoding: "utf8" }).trim();
        try {
            git("init", "-q");
            fs.mkdirSync(path.join(repo, "app"));
            fs.writeFileSync(path.join(repo, "app", "server.js"), "v1\n");
            git("add", "."); git("commit", "-q", "-m", "app v1");
            const appCommit = git("rev-parse", "HEAD").slice(0, 12);
            const app = path.join(repo, "app");
            expect(readSourceState(app)).toMatchObject({ commit: appCommit, dirty: false });

            fs.writeFileSync(path.join(repo, "Pulumi.production.yaml"), "config: {}\n");
            git("add", "."); git("commit", "-q", "-m", "promote");
            expect(readSourceState(app)).toMatchObject({ commit: appCommit, dirty: false });

            fs.writeFileSync(path.join(app, "server.js"), "v2\n");
            expect(readSourceState(app)).toMatchObject({ commit: appCommit, dirty: true });
            git("commit", "-q", "-am", "app v2");
            expect(readSourceState(app)).toMatchObject({ commit: git("rev-parse", "HEAD").slice(0, 12), dirty: false });
        } finally {
            fs.rmSync(repo, { recursive: true, force: true });
        }
    });
});
