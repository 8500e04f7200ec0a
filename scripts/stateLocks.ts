/**
 * A stack's locks in a team's Postgres state backend (stateBackend.ts; each lock a file
 * `.pulumi/locks/organization/<project>/<stack>/<id>.json` holding {pid, username, hostname, timestamp}). Pulumi
 * itself refuses a second run naming the holder; what it cannot tell is whether the holder still runs. berth's entry
 * points keep a heartbeat for their own run's lock, in a table of berth's own beside Pulumi's (HEARTBEAT_TABLE: the
 * lock's key and when its holder last said it runs, every HEARTBEAT_SECONDS; Pulumi's rows are never changed), so:
 * - on the machine that took it, a lock whose process no longer exists is stale (as for the local backend);
 * - from any other machine, a lock with a heartbeat that stopped STALE_MINUTES ago is stale (its holder was killed,
 *   or its machine is gone);
 * - a lock without one (a run outside berth's entry points: a bare `pulumi`, a CI action) is never judged from
 *   another machine: nothing says whether it runs; `pulumi cancel` clears it once its run is known dead.
 * A live run's lock is never removed.
 *
 *   node tools/register-typescript.js scripts/stateLocks.ts heartbeat <stack> <pid>   (pulumi.sh, beside each run;
 *   npm run branch keeps one in-process, withHeartbeat)
 */
import * as os from "os";
import { Client } from "pg";
import { PROJECT } from "./replicas";
import { isPostgresBackend, keysUnder, rowFile, STATE_TABLE, withClient } from "./stateBackend";

export const HEARTBEAT_SECONDS = 30;
/** How long a lock of another machine may go without a heartbeat before it counts as its holder's death. */
export const STALE_MINUTES = 3;
const HEARTBEAT_TABLE = "berth_lock_heartbeats";

export interface StateLock {
    key: string;
    pid: number;
    username: string;
    hostname: string;
    /** When the run took it. */
    timestamp: string;
    /** When its holder last said it runs (berth's heartbeat), if it keeps one. */
    heartbeat?: Date;
}

/** The part of a lock's key that names the stack (after the backend's own prefix). */
export function lockDir(project: string, stack: string): string {
    return `.pulumi/locks/organization/${project}/${stack}/`;
}

/** A lock as judged from here: stale (no run holds it any more) or held, with why either way. */
export interface LockJudgement {
    lock: StateLock;
    stale: boolean;
    why: string;
}

/** Each lock judged; only a lock whose holder is provably gone is stale. */
export function judgeLocks(locks: StateLock[], here: { hostname: string; isAlive: (pid: number) => boolean }, now: Date, staleMinutes = STALE_MINUTES): LockJudgement[] {
    return locks.map((lock) => {
        if (lock.hostname === here.hostname) {
            return here.isAlive(lock.pid)
                ? { lock, stale: false, why: `its process (pid ${lock.pid}) runs on this machine` }
                : { lock, stale: true, why: `its process (pid ${lock.pid}) no longer exists on this machine` };
        }
        if (!lock.heartbeat) {
            return { lock, stale: false, why: `it keeps no heartbeat (a run outside berth's entry points), so only its own machine can tell it ended; once it is known dead: npm run pulumi -- cancel --stack <stack>` };
        }
        const silentSeconds = Math.max(0, (now.getTime() - lock.heartbeat.getTime()) / 1000);
        return silentSeconds >= staleMinutes * 60
            ? { lock, stale: true, why: `no heartbeat from ${lock.hostname} for ${Math.floor(silentSeconds / 60)} minutes (stale after ${staleMinutes})` }
            : { lock, stale: false, why: `its last heartbeat was ${Math.round(silentSeconds)} s ago (stale after ${staleMinutes} minutes without one)` };
    });
}

async function ensureHeartbeatTable(client: Client): Promise<void> {
    await client.query(`CREATE TABLE IF NOT EXISTS ${HEARTBEAT_TABLE} (lock_key text PRIMARY KEY, beat_at timestamptz NOT NULL)`);
}

/** The stack's locks in the backend, each with its heartbeat (to the millisecond, as a JavaScript Date holds it: removeLock compares it). */
async function readLocks(client: Client, project: string, stack: string): Promise<StateLock[]> {
    await ensureHeartbeatTable(client);
    const { rows } = await client.query(`SELECT p.key, p.data, date_trunc('milliseconds', h.beat_at) AS beat_at FROM ${STATE_TABLE} p
        LEFT JOIN ${HEARTBEAT_TABLE} h ON h.lock_key = p.key WHERE p.key LIKE $1`, [keysUnder(lockDir(project, stack))]);
    return (rows as { key: string; data: unknown; beat_at: Date | null }[]).map((row) => {
        const file = (rowFile(row.data) ?? {}) as Omit<StateLock, "key" | "heartbeat">;
        return { key: row.key, pid: file.pid, username: file.username, hostname: file.hostname, timestamp: file.timestamp, heartbeat: row.beat_at ?? undefined };
    });
}

/** The stack's locks in the backend at `url`. */
export function locksOf(url: string, project: string, stack: string): Promise<StateLock[]> {
    return withClient(url, (client) => readLocks(client, project, stack));
}

/** Removes one lock, only if it is still as seen (its heartbeat unchanged): a holder that spoke since keeps it. */
export function removeLock(url: string, lock: StateLock): Promise<boolean> {
    return withClient(url, async (client) => {
        const removed = await client.query(`DELETE FROM ${STATE_TABLE} WHERE key = $1
            AND (SELECT date_trunc('milliseconds', beat_at) FROM ${HEARTBEAT_TABLE} WHERE lock_key = $1) IS NOT DISTINCT FROM $2::timestamptz`, [lock.key, lock.heartbeat ?? null]);
        if (removed.rowCount !== 1) return false;
        await client.query(`DELETE FROM ${HEARTBEAT_TABLE} WHERE lock_key = $1`, [lock.key]);
        return true;
    });
}

/**
 * Keeps this machine's live runs' locks of the stack alive (each lock whose holder is a process here that exists):
 * its heartbeat every HEARTBEAT_SECONDS while `running()`; until the run's lock appears, it looks every second.
 * Beside a CLI run (pulumi.sh) or an Automation API one (npm run branch). Heartbeats of locks gone are dropped.
 */
export async function heartbeat(url: string, project: string, stack: string, running: () => boolean): Promise<void> {
    const hostname = os.hostname();
    let found = false;
    while (running()) {
        await withClient(url, async (client) => {
            const live = (await readLocks(client, project, stack)).filter((lock) => lock.hostname === hostname && isAlive(lock.pid)).map((lock) => lock.key);
            await dropOrphanHeartbeats(client);
            if (live.length === 0) return;
            await client.query(`INSERT INTO ${HEARTBEAT_TABLE} (lock_key, beat_at) SELECT unnest($1::text[]), now()
                ON CONFLICT (lock_key) DO UPDATE SET beat_at = excluded.beat_at`, [live]);
            found = true;
        }).catch(() => undefined);
        const pause = found ? HEARTBEAT_SECONDS : 1;
        for (let waited = 0; waited < pause && running(); waited++) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    // The run ended: the heartbeats of locks it released go (a killed run's lock keeps its last one, to be judged by).
    await withClient(url, dropOrphanHeartbeats).catch(() => undefined);
}

async function dropOrphanHeartbeats(client: Client): Promise<void> {
    await client.query(`DELETE FROM ${HEARTBEAT_TABLE} h WHERE NOT EXISTS (SELECT 1 FROM ${STATE_TABLE} p WHERE p.key = h.lock_key)`);
}

/** A heartbeat for the stack's locks while `run` runs, where the backend is Postgres. */
export async function withHeartbeat<T>(stack: string, run: () => Promise<T>, backend = process.env.PULUMI_BACKEND_URL): Promise<T> {
    if (!isPostgresBackend(backend)) return run();
    let done = false;
    const beating = heartbeat(backend, PROJECT, stack, () => !done);
    try {
        return await run();
    } finally {
        done = true;
        await beating;
    }
}

export function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

// `heartbeat <stack> <pid>`: run in the background by pulumi.sh beside the Pulumi CLI it becomes (pid), until it ends.
if (process.argv[1] === __filename) {
    const [command, stack, pid] = process.argv.slice(2);
    const url = process.env.PULUMI_BACKEND_URL;
    if (command !== "heartbeat" || !stack || !pid || !isPostgresBackend(url)) process.exit(2);
    heartbeat(url, PROJECT, stack, () => isAlive(Number(pid))).then(() => process.exit(0), () => process.exit(1));
}
