import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { contextHash, dockerIgnoreFilter } from "../../components/contextHash";

function makeContext(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-ctx-"));
    for (const [name, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), content);
    }
    return dir;
}

describe("contextHash", () => {
    it("is the same for the same files, whatever their timestamps", () => {
        const a = makeContext({ "Dockerfile": "FROM x", "src/a.js": "1" });
        const b = makeContext({ "Dockerfile": "FROM x", "src/a.js": "1" });
        fs.utimesSync(path.join(b, "src/a.js"), new Date(0), new Date(0));
        expect(contextHash(a)).toBe(contextHash(b));
    });

    it("changes when a file's content changes", () => {
        const dir = makeContext({ "Dockerfile": "FROM x", "server.js": "v1" });
        const before = contextHash(dir);
        fs.writeFileSync(path.join(dir, "server.js"), "v2");
        expect(contextHash(dir)).not.toBe(before);
    });

    it("ignores what .dockerignore keeps out of the build", () => {
        const dir = makeContext({ "Dockerfile": "FROM x", ".dockerignore": "node_modules\n*.log\n", "app.js": "1" });
        const before = contextHash(dir);
        fs.mkdirSync(path.join(dir, "node_modules/pkg"), { recursive: true });
        fs.writeFileSync(path.join(dir, "node_modules/pkg/index.js"), "x");
        fs.writeFileSync(path.join(dir, "debug.log"), "x");
        expect(contextHash(dir)).toBe(before);
    });

    it("matches patterns the way .dockerignore does", () => {
        const ignored = (patterns: string, rel: string) => dockerIgnoreFilter(patterns)(rel);
        expect(ignored("node_modules", "node_modules/a/b.js")).toBe(true);
        expect(ignored("*.log", "x.log")).toBe(true);
        expect(ignored("*.log", "dir/x.log")).toBe(false);
        expect(ignored("**/*.log", "dir/x.log")).toBe(true);
        expect(ignored("/build/", "build/out.js")).toBe(true);
        expect(ignored("build", "builder.js")).toBe(false);
        expect(ignored("**/*.md", "README.md")).toBe(true);
        expect(ignored("**/*.md", "docs/deep/guide.md")).toBe(true);
    });

    it("follows negations, last match winning", () => {
        const sourcesOnly = dockerIgnoreFilter("*\n!src/**\n!package.json\n");
        expect(sourcesOnly("README.md")).toBe(true);
        expect(sourcesOnly("src/server.js")).toBe(false);
        expect(sourcesOnly("src/lib/db.js")).toBe(false);
        expect(sourcesOnly("package.json")).toBe(false);
        const allButReadme = dockerIgnoreFilter("*.md\n!README.md\n");
        expect(allButReadme("CHANGELOG.md")).toBe(true);
        expect(allButReadme("README.md")).toBe(false);
        // The later pattern wins: README.md is ignored again.
        expect(dockerIgnoreFilter("*.md\n!README.md\nREADME.md\n")("README.md")).toBe(true);
    });

    it("changes on a code change when .dockerignore ignores `*` and re-includes the sources", () => {
        const dir = makeContext({ "Dockerfile": "FROM x", ".dockerignore": "*\n!src/**\n!Dockerfile\n", "src/server.js": "v1", "notes.txt": "a" });
        const before = contextHash(dir);
        fs.writeFileSync(path.join(dir, "notes.txt"), "b");
        expect(contextHash(dir)).toBe(before);
        fs.writeFileSync(path.join(dir, "src/server.js"), "v2");
        expect(contextHash(dir)).not.toBe(before);
    });

    it("counts the Dockerfile even when .dockerignore lists it (Docker sends it anyway)", () => {
        const dir = makeContext({ "build/app.Dockerfile": "FROM x", ".dockerignore": "build\n", "app.js": "1" });
        const before = contextHash(dir, "build/app.Dockerfile");
        fs.writeFileSync(path.join(dir, "build/app.Dockerfile"), "FROM y");
        expect(contextHash(dir, "build/app.Dockerfile")).not.toBe(before);
    });
});
