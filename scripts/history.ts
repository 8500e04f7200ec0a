/**
 * `npm run history -- --stack S [--limit 20]`: each update of the stack, newest first — when, who, which commit, the
 * image it released, and how it ended — from the state backend's own history (Pulumi's self-managed backends keep,
 * per update, `<stack>-<time>.history.json` and the update's final `.checkpoint.json`), so it is the same on every
 * teammate's machine. Reads a `file://` backend's directory or a `postgres://` backend's table.
 *
 * Pulumi records the commit's author, not who ran the update: berth's entry points give each update the message
 * `<commit subject> (by <user>@<machine>)` (`history.ts message` prints it for pulumi.sh), and history reads it back.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { filesUnder, isPostgresBackend, withoutPassword } from "./stateBackend";
import { parseOptions, PROJECT, projectRoot, runMain, UsageError } from "./replicas";

const USAGE = "usage: npm run history -- --stack <stack> [--limit 20]";

export interface UpdateInfo {
    kind: string;
    startTime: number;
    endTime?: number;
    result: string;
    message?: string;
    environment?: Record<string, string>;
    resourceChanges?: Record<string, number>;
}

export interface HistoryEntry {
    update: UpdateInfo;
    /** The stack's `imageRef` output after the update (its final checkpoint), if it kept one. */
    imageRef?: string;
}

/** Who runs an update: the CI's actor (GitHub Actions) or the OS user, and the machine. */
export function deployer(env: NodeJS.ProcessEnv = process.env): string {
    return `${env.GITHUB_ACTOR || os.userInfo().username}@${os.hostname()}`;
}

/** An update's message: the commit's subject (Pulumi's own default) and who ran it. */
export function updateMessage(subject: string, who: string): string {
    return `${subject.trim()} (by ${who})`.trimStart();
}

/** Who ran an update: from its message, else (a run outside berth's entry points) the commit's author. */
export function whoRan(update: UpdateInfo): string {
    return /\(by ([^()\s]+)\)$/.exec(update.message ?? "")?.[1] ?? update.environment?.["git.author"] ?? "?";
}

/** The message for an update run now from this checkout. */
export function currentUpdateMessage(root: string): string {
    let subject = "";
    try {
        subject = execFileSync("git", ["-C", root, "log", "-1", "--format=%s"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch {
        // not a git checkout: the message names who ran it only
    }
    return updateMessage(subject, deployer());
}

/** The directory (under the backend's root) that holds a stack's history. */
export function historyDir(project: string, stack: string): string {
    return `.pulumi/history/${project}/${stack}/`;
}

/** The root stack's `imageRef` output in a checkpoint file's content. */
export function releasedImage(checkpoint: unknown): string | undefined {
    const resources = (checkpoint as { checkpoint?: { latest?: { resources?: { type: string; outputs?: Record<string, unknown> }[] } } })?.checkpoint?.latest?.resources ?? [];
    const image = resources.find((r) => r.type === "pulumi:pulumi:Stack")?.outputs?.imageRef;
    return typeof image === "string" ? image : undefined;
}

/** One line per update: `2026-12-04 14:03:12 UTC  update  succeeded  alice@laptop (a1b2c3d)  registry/app@sha256:…  create 25`. */
export function historyLine({ update, imageRef }: HistoryEntry): string {
    const when = new Date(update.startTime * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
    const env = update.environment ?? {};
    const who = whoRan(update);
    const commit = env["git.head"] ? ` (${env["git.head"].slice(0, 7)}${env["git.dirty"] === "true" ? ", uncommitted changes" : ""})` : "";
    const changes = Object.entries(update.resourceChanges ?? {}).filter(([op]) => op !== "same").map(([op, n]) => `${op} ${n}`).join(", ") || "no change";
    return `${when}  ${update.kind.padEnd(7)}  ${update.result.padEnd(9)}  ${who}${commit}  ${imageRef ?? "-"}  ${changes}`;
}

/** `<stack>-<nanoseconds>.history.json` and its checkpoint, as (name → content) pairs, newest first. */
export function pairUp(files: Map<string, unknown>): HistoryEntry[] {
    return [...files.keys()].filter((name) => name.endsWith(".history.json")).sort().reverse().map((name) => ({
        update: files.get(name) as UpdateInfo,
        imageRef: releasedImage(files.get(name.replace(/\.history\.json$/, ".checkpoint.json"))),
    }));
}

async function readHistory(backend: string, stack: string): Promise<HistoryEntry[]> {
    const dir = historyDir(PROJECT, stack);
    const files = new Map<string, unknown>();
    if (backend.startsWith("file://")) {
        const root = path.join(backend.slice("file://".length), dir);
        if (fs.existsSync(root)) for (const name of fs.readdirSync(root).filter((n) => n.endsWith(".json"))) files.set(name, JSON.parse(fs.readFileSync(path.join(root, name), "utf8")));
    } else if (isPostgresBackend(backend)) {
        for (const [name, content] of await filesUnder(backend, dir)) files.set(name, content);
    } else {
        throw new UsageError(`history reads file:// and postgres:// backends; PULUMI_BACKEND_URL is another (pulumi stack history --stack ${stack} shows Pulumi's own view)`);
    }
    return pairUp(files);
}

async function main(): Promise<number> {
    if (process.argv[2] === "message") {
        console.log(currentUpdateMessage(projectRoot));
        return 0;
    }
    const { options } = parseOptions(process.argv.slice(2), { values: ["stack", "limit"] });
    if (!options.stack) throw new UsageError(USAGE);
    const limit = Number(options.limit ?? 20);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit ${options.limit}: a whole number of updates, 1 or more`);
    const entries = await readHistory(process.env.PULUMI_BACKEND_URL ?? "", options.stack);
    if (entries.length === 0) throw new UsageError(`stack ${options.stack} has no update in ${withoutPassword(process.env.PULUMI_BACKEND_URL ?? "") || "the backend"} yet`);
    for (const entry of entries.slice(0, limit)) console.log(historyLine(entry));
    return 0;
}

// Run as `node tools/register-typescript.js scripts/history.ts …` (npm run history); imported by tests for its pure parts.
if (process.argv[1] === __filename) runMain(main);
