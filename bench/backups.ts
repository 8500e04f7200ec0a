/**
 * The backup rows of `npm run bench` (`BENCH_ONLY=backups`): a stack on test host h1 whose Postgres holds ~1 GB,
 * backed up into a restic repository over SFTP on h2 by berth's scheduler, against the hand-written way in the same
 * run (`pg_dump -Fc` into a file on the host, copied to the backup host with scp, restored with pg_restore): time of a
 * first backup, of a second one after a day's worth of changes (1% new rows, 1% of rows updated), what each adds to
 * the repository (deduplication) against a second full dump, and time of a restore.
 */
import { execFile, execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { appCopy, dockerAt, hostServices, projectRoot, testHosts, throwawayStack } from "../test/integration/harness";

const H2 = "192.168.240.12";
/** Rows of ~230 bytes on disk (six md5s: hex compresses ~2×, like real text): ~1 GB of table. */
const ROWS = 4_500_000;
const GiB = 1024 ** 3;
const size = (bytes: number) => (bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function npm(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => execFile("npm", ["run", "--silent", ...args], { cwd: projectRoot, encoding: "utf8", timeout: 3600_000, maxBuffer: 64 * 1024 ** 2 },
        (err, stdout, stderr) => (err ? reject(new Error(`npm run ${args.join(" ")}: ${stderr}`)) : resolve(stdout))));
}

async function timed(run: () => Promise<unknown> | unknown): Promise<number> {
    const started = Date.now();
    await run();
    return Date.now() - started;
}

const duBytes = (dir: string) => Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);

export async function backupsBench(): Promise<string> {
    const engines = await testHosts(2);
    const h1 = engines[0];
    const repositoryDir = `/home/deploy/berth-bench-${crypto.randomBytes(3).toString("hex")}`;
    const byHandDir = `/home/deploy/berth-bench-by-hand-${crypto.randomBytes(3).toString("hex")}`;
    const context = appCopy();
    const env = await throwawayStack({
        appContext: context, hosts: [h1], bindAddress: "0.0.0.0", services: hostServices,
        backups: { repository: `sftp:deploy@${H2}:${repositoryDir}`, every: "7d", keep: { daily: 7 } },
    }, {
        backupPassword: crypto.randomBytes(12).toString("hex"),
        backupSshKey: fs.readFileSync(path.join(os.homedir(), ".ssh", "berth_test_hosts"), "utf8"),
    });
    try {
        await env.stack.up({ color: "never" });
        const postgres = dockerAt(h1, "ps", "--filter", `label=berth.stack=${env.name}`, "--filter", "label=berth.service=postgres", "--format", "{{.Names}}");
        const psql = (sql: string) => dockerAt(h1, "exec", postgres, "psql", "-U", "app", "-d", "app", "-tAc", sql);
        const rowSql = (from: string, to: string) => `SELECT g, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) || md5((g + 3)::text) || md5((g + 4)::text) || md5((g + 5)::text) FROM generate_series(${from}, ${to}) g`;
        const load = await timed(() => psql(`CREATE TABLE bulk (id bigint PRIMARY KEY, payload text); INSERT INTO bulk ${rowSql("1", String(ROWS))}`));
        const database = Number(psql("SELECT pg_database_size('app')"));
        console.log(`bench backups: ${size(database)} of Postgres data loaded in ${seconds(load)}`);

        // berth: the scheduler's backup into restic over SFTP; then a day's changes and a second backup; a restore.
        const first = await timed(() => npm("backups", "--", "now", "--stack", env.name, "--service", "postgres"));
        const afterFirst = duBytes(repositoryDir);
        psql(`INSERT INTO bulk ${rowSql(String(ROWS + 1), String(ROWS + ROWS / 100))}; UPDATE bulk SET payload = md5(payload) || payload WHERE id BETWEEN ${ROWS / 2} AND ${ROWS / 2 + ROWS / 100}`);
        const second = await timed(() => npm("backups", "--", "now", "--stack", env.name, "--service", "postgres"));
        const afterSecond = duBytes(repositoryDir);
        const restore = await timed(() => npm("backups", "--", "restore", "--stack", env.name, "--service", "postgres", "--yes"));
        const restoredRows = Number(psql("SELECT count(*) FROM bulk"));
        if (restoredRows !== ROWS + ROWS / 100) throw new Error(`the restore has ${restoredRows} rows, not ${ROWS + ROWS / 100}`);

        // By hand, as a CI script does it: pg_dump's custom format piped over SSH into a file on the backup host, and
        // back into pg_restore; each backup is a whole file again (of the same data: what changed makes no difference to it).
        fs.mkdirSync(byHandDir, { recursive: true });
        execFileSync("chown", ["deploy", byHandDir]);
        const sh = (script: string) => timed(() => execFileSync("sh", ["-c", script], { maxBuffer: 64 * 1024 ** 2 }));
        const byHand = (n: number) => sh(`docker --host ${h1} exec ${postgres} pg_dump -U app -d app -Fc | ssh deploy@${H2} 'cat > ${byHandDir}/app-${n}.dump'`);
        const handFirst = await byHand(1);
        const handFirstBytes = duBytes(byHandDir);
        const handSecond = await byHand(2);
        const handSecondBytes = duBytes(byHandDir) - handFirstBytes;
        const handRestore = await sh(`ssh deploy@${H2} 'cat ${byHandDir}/app-2.dump' | docker --host ${h1} exec -i ${postgres} pg_restore -U app -d app --clean --if-exists --single-transaction`);

        const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
        return [
            `Postgres data: ${size(database)} (${ROWS.toLocaleString("en-US")} rows); second backup after 1% new rows and 1% of rows updated in one range.`,
            "",
            "| | berth (restic over SFTP, from the host's scheduler) | by hand (pg_dump -Fc piped over SSH into a file on the backup host) | berth / by hand |",
            "|---|---|---|---|",
            `| first backup | ${seconds(first)} | ${seconds(handFirst)} | ${ratio(first, handFirst)} |`,
            `| repository after it | ${size(afterFirst)} | ${size(handFirstBytes)} | ${ratio(afterFirst, handFirstBytes)} |`,
            `| second backup | ${seconds(second)} | ${seconds(handSecond)} | ${ratio(second, handSecond)} |`,
            `| added by the second | ${size(afterSecond - afterFirst)} | ${size(handSecondBytes)} | ${ratio(afterSecond - afterFirst, handSecondBytes)} |`,
            `| restore (berth: the app paused meanwhile) | ${seconds(restore)} | ${seconds(handRestore)} | ${ratio(restore, handRestore)} |`,
        ].join("\n");
    } finally {
        await env.remove();
        execFileSync("sh", ["-c", `docker --host ${h1} volume ls -q --filter label=berth.stack=${env.name} | xargs -r docker --host ${h1} volume rm`], { env: process.env });
        fs.rmSync(repositoryDir, { recursive: true, force: true });
        fs.rmSync(byHandDir, { recursive: true, force: true });
        fs.rmSync(context, { recursive: true, force: true });
    }
}
