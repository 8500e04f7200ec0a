import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import dockerignore from "@balena/dockerignore";

/**
 * The context's .dockerignore as Docker reads it — negations (`!pattern`) and last-match-wins included — through
 * a maintained port of Docker's own matcher. Returns whether a context-relative path (`/`-separated) is left out.
 */
export function dockerIgnoreFilter(patterns: string): (relPath: string) => boolean {
    const matcher = dockerignore({ ignorecase: false }).add(patterns.split(/\r?\n/));
    return (relPath) => matcher.ignores(relPath);
}

function readIgnoreFile(context: string): string {
    const file = path.join(context, ".dockerignore");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
}

/**
 * A digest of every file Docker would send as the build context: paths, modes and contents. Same files, same
 * digest, whatever their timestamps, so an unchanged app never rebuilds and a changed one always does. The
 * Dockerfile counts even when .dockerignore lists it, as Docker sends it anyway.
 */
export function contextHash(context: string, dockerfile = "Dockerfile"): string {
    const patterns = readIgnoreFile(context);
    const ignored = dockerIgnoreFilter(patterns);
    // Like Docker's walker: an ignored directory is skipped whole unless an exception could re-include something in it.
    const hasExceptions = patterns.split(/\r?\n/).some((line) => line.trim().startsWith("!"));
    const alwaysSent = new Set([path.posix.normalize(dockerfile.split(path.sep).join("/")), ".dockerignore"]);
    const hash = crypto.createHash("sha256");
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const full = path.join(dir, entry.name);
            const rel = path.relative(context, full).split(path.sep).join("/");
            const isIgnored = ignored(rel) && !alwaysSent.has(rel);
            if (entry.isDirectory()) {
                if (!isIgnored || hasExceptions || [...alwaysSent].some((sent) => sent.startsWith(`${rel}/`))) walk(full);
            } else if (!isIgnored && (entry.isFile() || entry.isSymbolicLink())) {
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
