import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { contextHash, ignorePattern } from "../../components/contextHash";

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
        expect(ignorePattern("node_modules")("node_modules/a/b.js")).toBe(true);
        expect(ignorePattern("*.log")("x.log")).toBe(true);
        expect(ignorePattern("*.log")("dir/x.log")).toBe(false);
        expect(ignorePattern("**/*.log")("dir/x.log")).toBe(true);
        expect(ignorePattern("/build/")("build/out.js")).toBe(true);
        expect(ignorePattern("build")("builder.js")).toBe(false);
    });
});
