import { execFile, execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appCopy, cleanHosts, dockerAt, hostServices, http, projectRoot, setObjectConfig, ThrowawayStack, throwawayStack, testHosts } from "./harness";

const H2 = "192.168.240.12";
/** `npm run …`, without blocking the test's worker (a backup may take a while). */
const npm = (...args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
    execFile("npm", ["run", "--silent", ...args], { cwd: projectRoot, encoding: "utf8", timeout: 300_000 }, (err, stdout, stderr) =>
        resolve({ status: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr })));
const hosts = (...args: string[]) => execFileSync("bash", [path.join(projectRoot, "scripts/hosts.sh"), ...args], { encoding: "utf8" });

/** Waits until `check` holds, at most `seconds`. */
async function until(seconds: number, check: () => Promise<boolean>, what: () => string): Promise<void> {
    for (const deadline = Date.now() + seconds * 1000; !(await check()); await new Promise((resolve) => setTimeout(resolve, 1000))) {
        if (Date.now() > deadline) throw new Error(`${what()} within ${seconds} s`);
    }
}

/**
 * berth:backups on a test host, with the restic repository over SFTP on another test host (berth's SSH login, its
 * host key from this machine's known_hosts): scheduled, listed with its tags, the data in it, a repository host
 * gone named.
 */
describe("backups of a stack's services into a restic repository over SFTP", () => {
    let engines: string[];
    let env: ThrowawayStack;
    let url: string;
    const context = appCopy();
    const repositoryDir = `/home/deploy/berth-backups-${crypto.randomBytes(3).toString("hex")}`;
    const scheduler = () => dockerAt(engines[0], "ps", "--filter", `label=berth.stack=${env.name}`, "--filter", "label=berth.role=backup", "--format", "{{.Names}}");
    const status = () => npm("backups", "--", "status", "--stack", env.name);
    /** The first good snapshot of postgres, with the row "before-backup" in it. */
    let snapshot = "";

    beforeAll(async () => {
        engines = await testHosts(2);
        env = await throwawayStack({
            appContext: context, hosts: [engines[0]], bindAddress: "0.0.0.0", services: hostServices,
            // Once at start (never backed up), then by `now` and before releases: no scheduled run in the middle of a test.
            backups: { repository: `sftp:deploy@${H2}:${repositoryDir}`, every: "1h", keep: { daily: 2 } },
        }, {
            backupPassword: crypto.randomBytes(12).toString("hex"),
            backupSshKey: fs.readFileSync(path.join(os.homedir(), ".ssh", "berth_test_hosts"), "utf8"),
        });
        url = (await env.stack.up({ color: "never" })).outputs.urls.value[0];
    });
    afterAll(async () => {
        hosts("join", "h2");
        await env?.remove();
        if (engines) cleanHosts(engines, env.name);
        fs.rmSync(repositoryDir, { recursive: true, force: true });
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("backs Postgres and Redis up on schedule, each snapshot tagged, the rows in the dump", async () => {
        expect((await http("POST", `${url}/rows`, { note: "before-backup" })).status).toBe(201);
        let seen = "";
        await until(90, async () => {
            seen = (await status()).stdout;
            return /postgres: last success .* \(.*snapshot [0-9a-f]{8}\)/.test(seen) && /redis: last success/.test(seen);
        }, () => `no scheduled backup of postgres and redis (status: ${seen}; scheduler's log: ${dockerAt(engines[0], "logs", "--tail", "20", scheduler())})`);
        const list = await npm("backups", "--", "list", "--stack", env.name, "--service", "postgres");
        expect(list.status, list.stderr).toBe(0);
        const snapshots = list.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line));
        expect(snapshots.length).toBeGreaterThan(0);
        expect(snapshots[0].tags).toEqual(expect.arrayContaining(["berth-ok", `stack=${env.name}`, "service=postgres", "kind=postgres", `host=${engines[0]}`]));
        // The snapshot holds the database as pg_dump wrote it: the row is in it.
        const rows = execFileSync("docker", ["--host", engines[0], "exec", scheduler(), "sh", "-c",
            `restic dump ${snapshots[0].id} /postgres.postgres | pg_restore --data-only --file -`], { encoding: "utf8" });
        expect(rows).toContain("before-backup");
        snapshot = snapshots[0].id;
        // The key never lands on the host's disk: the scheduler keeps it in memory.
        expect(dockerAt(engines[0], "exec", scheduler(), "sh", "-c", "ls /root/.ssh; grep -c 'BEGIN OPENSSH PRIVATE KEY' /dev/shm/berth-backup-ssh/key")).toBe("config\n1");
    });

    it("restore puts a snapshot back: refused without --yes (saying what it overwrites), then the rows of the snapshot and no others", async () => {
        expect((await http("POST", `${url}/rows`, { note: "after-backup" })).status).toBe(201);
        const asked = await npm("backups", "--", "restore", "--stack", env.name, "--service", "postgres", "--snapshot", snapshot);
        expect(asked.status).toBe(2);
        expect(asked.stderr).toMatch(new RegExp(`this overwrites postgres's data on ${engines[0]} with snapshot ${snapshot} of .*: whatever was written since is lost\\. The app's 1 containers are paused meanwhile`));
        const notes = async () => (await http("GET", `${url}/rows`)).json.rows.map((r: { note: string }) => r.note);
        expect(await notes()).toEqual(["before-backup", "after-backup"]);
        const done = await npm("backups", "--", "restore", "--stack", env.name, "--service", "postgres", "--snapshot", snapshot, "--yes");
        expect(done.status, done.stderr).toBe(0);
        expect(done.stdout).toMatch(new RegExp(`postgres restored from snapshot ${snapshot} .*; the app was paused for [0-9.]+ s and answers again`));
        expect(await notes()).toEqual(["before-backup"]);
        // Nothing else to repair: the next up changes nothing.
        const preview = await env.stack.preview({ color: "never" });
        expect(Object.keys(preview.changeSummary).filter((k) => k !== "same")).toEqual([]);
    });

    it("a release command that drops a table runs after an automatic backup, which brings the table back; retention keeps one a day", async () => {
        fs.appendFileSync(path.join(context, "server.js"), "\n// a release whose migration goes wrong\n");
        await env.stack.setConfig("berth:releaseCommand", { value: `node -e "const {Client}=require('pg'); const c=new Client({connectionString: process.env.DATABASE_URL}); c.connect().then(() => c.query('DROP TABLE notes')).then(() => c.end())"` });
        await env.stack.up({ color: "never" });
        await env.stack.removeConfig("berth:releaseCommand");
        expect((await http("GET", `${url}/rows`)).json.rows).toEqual([]);
        const list = await npm("backups", "--", "list", "--stack", env.name, "--service", "postgres");
        const snapshots = list.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line));
        // keep daily 2: today's newest alone (the one before the release); the earlier ones of today were pruned.
        expect(snapshots).toHaveLength(1);
        expect(snapshots[0].tags).toContain("before-release");
        const done = await npm("backups", "--", "restore", "--stack", env.name, "--service", "postgres", "--yes");
        expect(done.status, done.stderr).toBe(0);
        expect((await http("GET", `${url}/rows`)).json.rows.map((r: { note: string }) => r.note)).toEqual(["before-backup"]);
    });

    it("`npm run backups -- now` with the repository's host gone fails naming it; the app keeps answering", async () => {
        hosts("cut", "h2");
        try {
            const t0 = Date.now();
            const now = await npm("backups", "--", "now", "--stack", env.name, "--service", "postgres");
            console.log(`backup now with the repository's host gone: failed in ${Date.now() - t0} ms`);
            expect(now.status).toBe(1);
            expect(now.stderr).toContain(H2);
            expect((await http("GET", `${url}/`)).status).toBe(200);
            expect((await status()).stdout).toMatch(/postgres: last success .*; last attempt .* failed: .*192\.168\.240\.12/);
            // With a 10 s interval, 21 s without a success is twice too long: preview says so, naming the cause.
            await setObjectConfig(env.stack, "backups", { repository: `sftp:deploy@${H2}:${repositoryDir}`, every: "10s", keep: { daily: 2 } });
            await new Promise((resolve) => setTimeout(resolve, 21_000));
            const preview = await env.stack.preview({ color: "never" });
            expect(preview.stdout).toMatch(/the backup of postgres last succeeded .*, longer ago than twice its interval \(20 s\); its last attempt failed: .*192\.168\.240\.12/);
        } finally {
            hosts("join", "h2");
            await setObjectConfig(env.stack, "backups", { repository: `sftp:deploy@${H2}:${repositoryDir}`, every: "1h", keep: { daily: 2 } });
        }
        const t1 = Date.now();
        const again = await npm("backups", "--", "now", "--stack", env.name, "--service", "postgres");
        console.log(`backup now with the repository's host back: ${Date.now() - t1} ms`);
        expect(again.status, again.stderr).toBe(0);
        expect(again.stdout).toMatch(/postgres: snapshot [0-9a-f]+/);
    });
});
