import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";

const projectRoot = path.join(__dirname, "..", "..");
const cacheDir = path.join(projectRoot, "node_modules", ".cache", "berth-ts");

/** Requires `file` in a fresh Node.js process through berth's loader, as the language host and the provider plugin do. */
function load(file: string): string {
    const script = `require(${JSON.stringify(path.join(projectRoot, "tools", "register-typescript.js"))}).register(); console.log(require(${JSON.stringify(file)}).answer);`;
    return execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }).trim();
}

describe("tools/register-typescript.js", () => {
    it("reuses a file's transpiled code while the file is unchanged, and never serves a stale one", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-ts-cache-"));
        const file = path.join(dir, "module.ts");
        try {
            const entries = () => new Set(fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []);
            fs.writeFileSync(file, "export const answer: number = 41;\n");
            const before = entries();
            expect(load(file)).toBe("41");
            const added = [...entries()].filter((e) => !before.has(e));
            expect(added).toHaveLength(1);
            // The second run is served from that entry: no new one, same answer.
            expect(load(file)).toBe("41");
            expect(entries().size).toBe(before.size + 1);
            // Changed content, same path and modification second: the new code runs.
            fs.writeFileSync(file, "export const answer: number = 42;\n");
            expect(load(file)).toBe("42");
            for (const entry of entries()) if (!before.has(entry)) fs.rmSync(path.join(cacheDir, entry));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("points an error's stack at the TypeScript line and column, in a fresh file and one served from the cache", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-ts-stack-"));
        const file = path.join(dir, "fails.ts");
        const before = new Set(fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []);
        try {
            // Types and comments above the throw: esbuild's output has the throw on another line.
            fs.writeFileSync(file, [
                "// a comment", "interface Unused { a: number }", "type Alias = string;", "",
                "export function fails(): never {", "    const value: Alias = 'x';", "    throw new Error(`failed ${value}`);", "}", "",
            ].join("\n"));
            const script = `require(${JSON.stringify(path.join(projectRoot, "tools", "register-typescript.js"))}).register();
                try { require(${JSON.stringify(file)}).fails(); } catch (err) { console.log(err.stack.split("\\n").slice(0, 2).join(" | ")); }`;
            for (let run = 0; run < 2; run++) {
                expect(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }).trim()).toBe(`Error: failed x |     at Object.fails (${file}:7:11)`);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
            for (const entry of fs.readdirSync(cacheDir)) if (!before.has(entry)) fs.rmSync(path.join(cacheDir, entry));
        }
    });
});
