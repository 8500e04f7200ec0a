import { execFile, execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testHostsDir } from "../../components/cacheLayout";
import { appCopy, cleanHosts, dockerAt, hostServices, http, projectRoot, setObjectConfig, ThrowawayStack, throwawayStack, testHosts, testRegistry } from "./harness";

const H2 = "192.168.240.12";
/** `npm run …`, without blocking the test's worker (a backup may take a while). */
const npm = (args: string[], env: Record<string, string> = {}) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
    execFile("npm", ["run", "--silent", ...args], { cwd: projectRoot, encoding: "utf8", timeout: 300_000, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
        resolve({ status: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr })));
const hosts = (...args: string[]) => execFileSync("bash", [path.join(projectRoot, "scripts/hosts.sh"), ...args], { encoding: "utf8" });
/** A shell command in a test host's own mount namespace (where its sshd, and so the SFTP repository, sees files). */
const inHostMounts = (host: string, script: string) => {
    const pid = fs.readFileSync(path.join(testHostsDir(), host, "pids"), "utf8").split("\n")[0];
    return execFileSync("nsenter", ["--target", pid, "--mount", "sh", "-c", script], { encoding: "utf8" });
};

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
    const status = () => npm(["backups", "--", "status", "--stack", env.name]);
    const backups = (...args: string[]) => npm(["backups", "--", ...args, "--stack", env.name]);
    const repository = (dir = repositoryDir) => ({ repository: `sftp:deploy@${H2}:${dir}`, every: "1h", keep: { daily: 2 } });
    /** A service's container on the first host. */
    const container = (service: string) => dockerAt(engines[0], "ps", "--filter", `label=berth.stack=${env.name}`, "--filter", `label=berth.service=${service}`, "--format", "{{.Names}}");
    const snapshotsOf = async (service: string) => {
        const listed = await backups("list", "--service", service);
        expect(listed.status, listed.stderr).toBe(0);
        return listed.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line) as { id: string; tags: string[] });
    };
    /** The first good snapshot of postgres, with the row "before-backup" in it. */
    let snapshot = "";
    const backupPassword = crypto.randomBytes(12).toString("hex");

    beforeAll(async () => {
        engines = await testHosts(3);
        env = await throwawayStack({
            appContext: context, hosts: [engines[0]], bindAddress: "0.0.0.0",
            // Every kind: the app's two, a broker, and a custom service whose volume is copied as files.
            services: { ...hostServices, rabbitmq: { kind: "rabbitmq", image: `${testRegistry}/berth/rabbitmq:3` }, files: { kind: "custom", image: `${testRegistry}/berth/redis:7`, port: 6379, dataPath: "/data" } },
            // Once at start (never backed up), then by `now` and before releases: no scheduled run in the middle of a test.
            backups: repository(),
        }, {
            rabbitmqPassword: crypto.randomBytes(12).toString("hex"),
            backupPassword,
            backupSshKey: fs.readFileSync(path.join(os.homedir(), ".ssh", "berth_test_hosts"), "utf8"),
        });
        url = (await env.stack.up({ color: "never" })).outputs.urls.value[0];
    });
    afterAll(async () => {
        hosts("join", "h1");
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
        const list = await npm(["backups", "--", "list", "--stack", env.name, "--service", "postgres"]);
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
        const asked = await npm(["backups", "--", "restore", "--stack", env.name, "--service", "postgres", "--snapshot", snapshot]);
        expect(asked.status).toBe(2);
        expect(asked.stderr).toMatch(new RegExp(`this overwrites postgres's data on ${engines[0]} with snapshot ${snapshot} of .*: whatever was written since is lost\\. The app's 1 containers are paused meanwhile`));
        const notes = async () => (await http("GET", `${url}/rows`)).json.rows.map((r: { note: string }) => r.note);
        expect(await notes()).toEqual(["before-backup", "after-backup"]);
        const done = await npm(["backups", "--", "restore", "--stack", env.name, "--service", "postgres", "--snapshot", snapshot, "--yes"]);
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
        const list = await npm(["backups", "--", "list", "--stack", env.name, "--service", "postgres"]);
        const snapshots = list.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line));
        // keep daily 2: today's newest alone (the one before the release); the earlier ones of today were pruned.
        expect(snapshots).toHaveLength(1);
        expect(snapshots[0].tags).toContain("before-release");
        const done = await npm(["backups", "--", "restore", "--stack", env.name, "--service", "postgres", "--yes"]);
        expect(done.status, done.stderr).toBe(0);
        expect((await http("GET", `${url}/rows`)).json.rows.map((r: { note: string }) => r.note)).toEqual(["before-backup"]);
    });

    it("`npm run backups -- now` with the repository's host gone fails naming it; the app keeps answering", async () => {
        hosts("cut", "h2");
        try {
            const t0 = Date.now();
            const now = await npm(["backups", "--", "now", "--stack", env.name, "--service", "postgres"]);
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
        const again = await npm(["backups", "--", "now", "--stack", env.name, "--service", "postgres"]);
        console.log(`backup now with the repository's host back: ${Date.now() - t1} ms`);
        expect(again.status, again.stderr).toBe(0);
        expect(again.stdout).toMatch(/postgres: snapshot [0-9a-f]+/);
    });

    it("Redis's counter, RabbitMQ's definitions and a custom service's files come back; snapshots carry the release", async () => {
        // The stack as configured now (no release command any more): the previews below compare against it.
        await env.stack.up({ color: "never" });
        for (let i = 0; i < 3; i++) await http("POST", `${url}/hits`);
        dockerAt(engines[0], "exec", container("rabbitmq"), "rabbitmqctl", "add_vhost", "orders");
        dockerAt(engines[0], "exec", container("files"), "sh", "-c", "echo v1 > /data/note && mkdir -p /data/deep && echo kept > /data/deep/file");
        const now = await backups("now");
        expect(now.status, now.stderr).toBe(0);
        expect(now.stdout).toMatch(/files: snapshot [0-9a-f]+ .*; files was paused for [0-9.]+ s for the copy/);
        const imageRef = (await env.stack.outputs()).imageRef.value as string;
        for (const service of ["redis", "rabbitmq", "files"]) {
            expect((await snapshotsOf(service)).at(-1)!.tags).toEqual(expect.arrayContaining([`service=${service}`, `release=${imageRef}`]));
        }
        // Everything changes after the backup.
        for (let i = 0; i < 2; i++) await http("POST", `${url}/hits`);
        dockerAt(engines[0], "exec", container("rabbitmq"), "rabbitmqctl", "delete_vhost", "orders");
        dockerAt(engines[0], "exec", container("files"), "sh", "-c", "echo v2 > /data/note && echo stray > /data/stray");
        for (const service of ["redis", "rabbitmq", "files"]) {
            const done = await backups("restore", "--service", service, "--yes");
            expect(done.status, `${service}: ${done.stderr}`).toBe(0);
            if (service === "files") expect(done.stdout).toMatch(/files was stopped for [0-9]+ ms for the restore/);
        }
        // Redis went on from the snapshot's 3 (the same server, replicated from a loader that is gone again).
        expect((await http("POST", `${url}/hits`)).json.hits).toBe(4);
        expect(dockerAt(engines[0], "ps", "-a", "--filter", `label=berth.stack=${env.name}`, "--filter", "label=berth.role=backup-restore", "--format", "{{.Names}}")).toBe("");
        expect(dockerAt(engines[0], "exec", container("rabbitmq"), "rabbitmqctl", "list_vhosts", "--quiet", "--no-table-headers").split("\n").sort()).toEqual(["/", "orders"]);
        expect(dockerAt(engines[0], "exec", container("files"), "sh", "-c", "cat /data/note /data/deep/file; ls /data")).toBe("v1\nkept\nappendonlydir\ndeep\nnote");
        const preview = await env.stack.preview({ color: "never" });
        expect(Object.keys(preview.changeSummary).filter((k) => k !== "same"), preview.stdout).toEqual([]);
    });

    it("a lost disk: up refuses, BERTH_ACCEPT_DATA_LOSS gives an empty Postgres, and restore brings the rows of the last snapshot back", async () => {
        const rows = async () => (await http("GET", `${url}/rows`)).json.rows.map((r: { note: string }) => r.note);
        const before = await rows();
        expect(before).toEqual(["before-backup"]);
        const volume = dockerAt(engines[0], "volume", "ls", "--filter", `label=berth.stack=${env.name}`, "--format", "{{.Name}}").split("\n").find((v) => v.includes("postgres"))!;
        dockerAt(engines[0], "rm", "--force", container("postgres"));
        dockerAt(engines[0], "volume", "rm", volume);
        await expect(env.stack.up({ color: "never" })).rejects.toThrow(new RegExp(`data volume ${volume} no longer exists[^]*BERTH_ACCEPT_DATA_LOSS=${volume}`));
        process.env.BERTH_ACCEPT_DATA_LOSS = volume;
        try {
            await env.stack.up({ color: "never" });
        } finally {
            delete process.env.BERTH_ACCEPT_DATA_LOSS;
        }
        const done = await backups("restore", "--service", "postgres", "--yes");
        expect(done.status, done.stderr).toBe(0);
        expect(await rows()).toEqual(before);
    });

    it("a wrong password and a full repository fail naming them, a backup killed half-way leaves no snapshot and no file, and the app answers throughout", async () => {
        const scratch = () => dockerAt(engines[0], "exec", scheduler(), "ls", "-A", "/var/lib/berth-backup/scratch");
        const pending = () => JSON.parse(dockerAt(engines[0], "exec", scheduler(), "restic", "snapshots", "--json", "--tag", "berth-pending")) as unknown[];
        // Killed half-way: the dump stops (its server paused), then dies; nothing counts as a snapshot.
        const good = (await snapshotsOf("postgres")).length;
        dockerAt(engines[0], "pause", container("postgres"));
        try {
            const running = backups("now", "--service", "postgres");
            // (The scheduler's image has no procps: its processes by /proc, and the shell's kill.)
            const pgDump = () => dockerAt(engines[0], "exec", scheduler(), "sh", "-c", 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = pg_dump ] && echo ${p#/proc/}; done; true');
            await until(30, async () => pgDump() !== "", () => "no pg_dump running");
            dockerAt(engines[0], "exec", scheduler(), "sh", "-c", `kill -KILL ${pgDump().split("\n").join(" ")}`);
            const killed = await running;
            expect(killed.status).toBe(1);
            expect(killed.stderr).toContain("the backup of postgres failed");
        } finally {
            dockerAt(engines[0], "unpause", container("postgres"));
        }
        expect((await snapshotsOf("postgres")).length).toBe(good);
        expect(pending()).toEqual([]);
        expect(scratch()).toBe("");

        // The repository's password wrong.
        await env.stack.setConfig("berth:backupPassword", { value: "not-the-password", secret: true });
        await env.stack.up({ color: "never" });
        const wrong = await backups("now", "--service", "postgres");
        expect(wrong.status).toBe(1);
        expect(wrong.stderr).toMatch(new RegExp(`the repository sftp:deploy@${H2.replace(/\./g, "\\.")}:${repositoryDir} cannot be opened: .*wrong password`));
        expect(wrong.stderr).not.toContain(backupPassword);
        expect((await http("GET", `${url}/`)).status).toBe(200);
        await env.stack.setConfig("berth:backupPassword", { value: backupPassword, secret: true });

        // A repository on a small disk of its own, filled up once it holds a snapshot.
        const fullDir = `/home/deploy/berth-full-${crypto.randomBytes(3).toString("hex")}`;
        inHostMounts("h2", `mkdir -p ${fullDir} && mount -t tmpfs -o size=24m tmpfs ${fullDir} && chown deploy ${fullDir}`);
        try {
            await setObjectConfig(env.stack, "backups", repository(fullDir));
            await env.stack.up({ color: "never" });
            const first = await backups("now", "--service", "postgres");
            expect(first.status, first.stderr).toBe(0);
            inHostMounts("h2", `dd if=/dev/zero of=${fullDir}/filler bs=1M 2>/dev/null || true`);
            const full = await backups("now", "--service", "postgres");
            expect(full.status).toBe(1);
            expect(full.stderr).toMatch(new RegExp(`the repository's disk is full: [0-9]+ KiB free at deploy@${H2.replace(/\./g, "\\.")}:${fullDir}`));
            expect((await http("GET", `${url}/`)).status).toBe(200);
            expect(scratch()).toBe("");
        } finally {
            inHostMounts("h2", `umount ${fullDir}; rmdir ${fullDir}`);
            await setObjectConfig(env.stack, "backups", repository());
        }
        await env.stack.up({ color: "never" });
        const again = await backups("now", "--service", "postgres");
        expect(again.status, again.stderr).toBe(0);
    });

    it("a host lost for good: forget-host drops it from state, up builds the stack on a new host, restore brings the rows back", async () => {
        const rows = async () => (await http("GET", `${url}/rows`)).json.rows.map((r: { note: string }) => r.note);
        const before = await rows();
        hosts("cut", "h1");
        try {
            await setObjectConfig(env.stack, "hosts", [engines[2]]);
            const asked = await npm(["forget-host", "--", "--stack", env.name, "--host", engines[0]], env.envVars);
            expect(asked.status, asked.stderr).toBe(2);
            expect(asked.stderr).toMatch(new RegExp(`${engines[0]} does not answer within 20 s\\. Stack ${env.name}'s state would forget its [0-9]+ resources there:[^]*DockerVolume ${env.name}-postgres-data-volume`));
            const forgot = await npm(["forget-host", "--", "--stack", env.name, "--host", engines[0], "--yes"], env.envVars);
            expect(forgot.status, forgot.stderr).toBe(0);
            // (The new host gets the app's two services alone: the broker's start is not what this measures.)
            await setObjectConfig(env.stack, "services", hostServices);
            await env.stack.removeConfig("berth:rabbitmqPassword");
            url = (await env.stack.up({ color: "never" })).outputs.urls.value[0];
            expect(url).toContain(engines[2].replace(/^ssh:\/\/[^@]+@/, ""));
            expect(await rows()).toEqual([]);
            // The last snapshot the lost host took: the new host's scheduler may meanwhile have backed up its empty
            // service, which is the latest.
            const listed = await snapshotsOf("postgres");
            const fromLostHost = listed.filter((snap) => snap.tags.includes(`host=${engines[0]}`)).at(-1);
            expect(fromLostHost, JSON.stringify(listed)).toBeDefined();
            const done = await backups("restore", "--service", "postgres", "--snapshot", fromLostHost!.id, "--yes");
            expect(done.status, done.stderr).toBe(0);
            expect(await rows()).toEqual(before);
        } finally {
            hosts("join", "h1");
        }
        // A host that answers is never forgotten.
        const refused = await npm(["forget-host", "--", "--stack", env.name, "--host", engines[2]], env.envVars);
        expect(refused.status).toBe(2);
        expect(refused.stderr).toContain(`${engines[2]} answers: it is not gone`);
    });
});
