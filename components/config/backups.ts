// berth:backups: where the stack's service data goes (a restic repository), when, and what is kept. Each value is
// checked against the grammar of the place it lands: restic's repository spelling, ssh's user@host, a schedule.
import { isIP } from "net";
import { checkFields, ConfigError, ErrorCollector } from "./errors";
import { parseBoolean, parseJson, required } from "./fields";
import type { ConfigSource } from "./types";

/** When backups run: every N seconds, or daily at HH:MM (UTC). */
export type BackupSchedule = { everySeconds: number } | { atUtc: string };

export interface BackupSettings {
    /** As restic spells it: `sftp:user@host:/path` or `rest:https://host[:port]/path`. */
    repository: string;
    /** The SSH login of an sftp: repository (its host key is checked like any berth host's). */
    sftp?: { user: string; host: string };
    schedule: BackupSchedule;
    /** restic forget --keep-daily/--keep-weekly/--keep-monthly. */
    keep: { daily: number; weekly: number; monthly: number };
    /** A backup of the SQL services the app depends on before each release command (berth:backupBeforeRelease). */
    beforeRelease: boolean;
}

/** What is kept when berth:backups names no `keep`. */
export const DEFAULT_KEEP = { daily: 7, weekly: 4, monthly: 6 };
const FIELDS = ["repository", "every", "at", "keep"];
const KEEP_FIELDS = Object.keys(DEFAULT_KEEP);

const USER = /^[a-z_][a-z0-9_.-]{0,31}$/;
const HOST = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** An absolute path of plain segments (one character class, no nested repetition: linear on any input). */
const PATH = /^\/[A-Za-z0-9._\/-]*$/;

/** A restic repository berth can reach from a host: over SFTP with berth's SSH login, or a REST server without credentials in the URL. */
export function parseRepository(key: string, value: unknown): Pick<BackupSettings, "repository" | "sftp"> {
    const text = typeof value === "string" ? value : "";
    const sftp = /^sftp:([^@]+)@([^:]+):(.+)$/.exec(text);
    if (sftp) {
        const [, user, host, dir] = sftp;
        if (USER.test(user) && (HOST.test(host) || isIP(host) === 4) && PATH.test(dir) && !dir.includes("//") && !dir.split("/").includes("..")) return { repository: text, sftp: { user, host } };
    }
    if (text.startsWith("rest:")) {
        let url: URL | undefined;
        try {
            url = new URL(text.slice("rest:".length));
        } catch {
            url = undefined;
        }
        if (url && ["https:", "http:"].includes(url.protocol) && !url.username && !url.password && !/\s/.test(text)) return { repository: text };
        if (url?.username || url?.password) throw new ConfigError(key, "rest:(a URL with credentials)", "credentials never go in plain config: use a REST server that needs none on the hosts' network, or sftp:");
    }
    throw new ConfigError(key, value, "use a restic repository as restic spells it: sftp:user@host:/absolute/path (over SSH, with berth:backupSshKey) or rest:https://host:8000/path");
}

/** An interval as `30s`, `15m`, `6h` or `1d`: at least 10 s, at most 7 days. */
export function parseEvery(key: string, value: unknown): number {
    const match = typeof value === "string" ? /^([1-9][0-9]*)(s|m|h|d)$/.exec(value) : null;
    const seconds = match ? Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as "s" | "m" | "h" | "d"] : 0;
    if (seconds < 10 || seconds > 7 * 86400) throw new ConfigError(key, value, "use an interval from 10s to 7d, e.g. 6h, 30m or 1d");
    return seconds;
}

/** A time of day, `HH:MM` in UTC. */
export function parseAt(key: string, value: unknown): string {
    if (typeof value !== "string" || !/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(value)) throw new ConfigError(key, value, "use a time of day in UTC as HH:MM, e.g. 03:30");
    return value;
}

function parseKeep(key: string, value: unknown): BackupSettings["keep"] {
    if (value === undefined) return DEFAULT_KEEP;
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ConfigError(key, value, "use { daily, weekly, monthly }: how many of each restic keeps");
    const c = new ErrorCollector();
    c.take(() => checkFields(key, value as Record<string, unknown>, KEEP_FIELDS, "a retention count"), undefined);
    const count = (name: keyof typeof DEFAULT_KEEP) => c.take(() => {
        // `pulumi config set --path` may store a count as text.
        const given = (value as Record<string, unknown>)[name] ?? DEFAULT_KEEP[name];
        const n = typeof given === "string" && /^[0-9]+$/.test(given) ? Number(given) : given;
        if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > 1000) throw new ConfigError(`${key}.${name}`, n, "use a whole number from 0 to 1000");
        return n as number;
    }, 0);
    const keep = { daily: count("daily"), weekly: count("weekly"), monthly: count("monthly") };
    c.throwIfAny();
    if (keep.daily + keep.weekly + keep.monthly === 0) throw new ConfigError(key, value, "keep at least one snapshot: a repository that forgets every snapshot restores nothing");
    return keep;
}

/** berth:backups and berth:backupBeforeRelease, or undefined when the stack backs nothing up. */
export function parseBackups(source: ConfigSource): BackupSettings | undefined {
    const value = parseJson("backups", source("backups"), {});
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ConfigError("backups", value, "use { repository, every | at, keep: { daily, weekly, monthly } }");
    const fields = value as Record<string, unknown>;
    if (Object.keys(fields).length === 0) return undefined;
    const c = new ErrorCollector();
    c.take(() => checkFields("backups", fields, FIELDS, "a field of berth:backups"), undefined);
    const repository = c.take(() => parseRepository("backups.repository", fields.repository), { repository: "" });
    const schedule = c.take((): BackupSchedule => {
        if ((fields.every === undefined) === (fields.at === undefined)) throw new ConfigError("backups", value, "set exactly one of every (an interval: 6h) or at (a daily time in UTC: 03:30)");
        return fields.every !== undefined ? { everySeconds: parseEvery("backups.every", fields.every) } : { atUtc: parseAt("backups.at", fields.at) };
    }, { everySeconds: 0 });
    const keep = c.take(() => parseKeep("backups.keep", fields.keep), DEFAULT_KEEP);
    const beforeRelease = c.take(() => parseBoolean("backupBeforeRelease", required(source, "backupBeforeRelease")), true);
    c.throwIfAny();
    return { ...repository, schedule, keep, beforeRelease };
}
