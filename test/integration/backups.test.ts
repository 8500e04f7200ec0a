import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appCopy, cleanHosts, dockerAt, hostServices, http, projectRoot, ThrowawayStack, throwawayStack, testHosts } from "./harness";

const H2 = "192.168.240.12";
const npm = (...args: string[]) => spawnSync("npm", ["run", "--silent", ...args], { cwd: projectRoot, encoding: "utf8", timeout: 300_000 });
const hosts = (...args: string[]) => execFileSync("bash", [path.join(projectRoot, "scripts/hosts.sh"), ...args], { encoding: "utf8" });

/** Waits until `check` holds, at most `seconds`. */
async function until(seconds: number, check: () => boolean, what: () => string): Promise<void> {
    for (const deadline = Date.now() + seconds * 1000; !check(); await new Promise((resolve) => setTimeout(resolve, 1000))) {
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

    beforeAll(async () => {
        engines = await testHosts(2);
        env = await throwawayStack({
            appContext: context, hosts: [engines[0]], bindAddress: "0.0.0.0", services: hostServices,
            backups: { repository: `sftp:deploy@${H2}:${repositoryDir}`, every: "20s", keep: { daily: 2 } },
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
        await until(90, () => {
            seen = status().stdout;
            return /postgres: last success .* \(.*snapshot [0-9a-f]{8}\)/.test(seen) && /redis: last success/.test(seen);
        }, () => `no scheduled backup of postgres and redis (status: ${seen}; scheduler's log: ${dockerAt(engines[0], "logs", "--tail", "20", scheduler())})`);
        const list = npm("backups", "--", "list", "--stack", env.name, "--service", "postgres");
        expect(list.status, list.stderr).toBe(0);
        const snapshots = list.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line));
        expect(snapshots.length).toBeGreaterThan(0);
        expect(snapshots[0].tags).toEqual(expect.arrayContaining(["berth-ok", `stack=${env.name}`, "service=postgres", "kind=postgres", `host=${engines[0]}`]));
        // The snapshot holds the database as pg_dump wrote it: the row is in it.
        const rows = execFileSync("docker", ["--host", engines[0], "exec", scheduler(), "sh", "-c",
            `restic dump ${snapshots[0].id} /postgres.postgres | pg_restore --data-only --file -`], { encoding: "utf8" });
        expect(rows).toContain("before-backup");
        // The key never lands on the host's disk: the scheduler keeps it in memory.
        expect(dockerAt(engines[0], "exec", scheduler(), "sh", "-c", "ls /root/.ssh; grep -c 'BEGIN OPENSSH PRIVATE KEY' /dev/shm/berth-backup-ssh/key")).toBe("config\n1");
    });

    it("`npm run backups -- now` with the repository's host gone fails naming it; the app keeps answering", async () => {
        hosts("cut", "h2");
        try {
            const now = npm("backups", "--", "now", "--stack", env.name, "--service", "postgres");
            expect(now.status).toBe(1);
            expect(now.stderr).toContain(H2);
            expect((await http("GET", `${url}/`)).status).toBe(200);
            expect(status().stdout).toMatch(/postgres: last success .*; last attempt .* failed: .*192\.168\.240\.12/);
        } finally {
            hosts("join", "h2");
        }
        const again = npm("backups", "--", "now", "--stack", env.name, "--service", "postgres");
        expect(again.status, again.stderr).toBe(0);
        expect(again.stdout).toMatch(/postgres: snapshot [0-9a-f]+/);
    });
});
