import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/** Turns one .dockerignore pattern into a test on context-relative paths (`*`, `**`, `?`, trailing `/`). */
export function ignorePattern(pattern: string): (relPath: string) => boolean {
    const cleaned = pattern.trim().replace(/^\/+/, "").replace(/\/+$/, "");
    const regex = cleaned
        .split("**")
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]"))
        .join(".*");
    const matcher = new RegExp(`^${regex}(/.*)?$`);
    return (relPath) => matcher.test(relPath);
}

function readIgnores(context: string): Array<(relPath: string) => boolean> {
    const file = path.join(context, ".dockerignore");
    const lines = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n") : [];
    // Negations (`!pattern`) are rare in app contexts; treating them as ignores would hide files, so they are skipped.
    return lines.filter((l) => l.trim() && !l.startsWith("#") && !l.startsWith("!")).map(ignorePattern);
}

/**
 * A digest of every file Docker would send as the build context: paths, modes and contents. Same files, same
 * digest, whatever their timestamps, so an unchanged app never rebuilds and a changed one always does.
 */
export function contextHash(context: string): string {
    const ignores = readIgnores(context);
    const hash = crypto.createHash("sha256");
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const full = path.join(dir, entry.name);
            const rel = path.relative(context, full).split(path.sep).join("/");
            if (ignores.some((ignored) => ignored(rel))) continue;
            if (entry.isDirectory()) {
                walk(full);
            } else if (entry.isFile() || entry.isSymbolicLink()) {
                const stat = fs.statSync(full);
                hash.update(`${rel}\0${stat.mode & 0o111 ? "x" : "-"}\0`);
                hash.update(fs.readFileSync(full));
                hash.update("\0");
            }
        }
    };
    walk(context);
    return hash.digest("hex");
}
