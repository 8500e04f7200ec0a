import { ChildProcess, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanHosts, docker, dockerAt, freePort, hostServices, http, processesWith, projectRoot, requireToolchain, stateServer, testHosts } from "./harness";

interface Run {
    status: number;
    output: string;
}

/**
 * A teammate's machine: a clone of this checkout (its tracked and new files, node_modules as hard links), its own
 * Pulumi home and workspace, and — for the second one — its own hostname (a UTS namespace), so Pulumi's locks and
 * berth's recovery see two machines.
 */
class Machine {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-teammate-"));

    constructor(readonly hostname: string, private readonly ownUts: boolean, readonly env: NodeJS.ProcessEnv) {
        execFileSync("sh", ["-c", 'git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$1" && cp -al node_modules "$1/node_modules"', "sh", this.dir], { cwd: projectRoot });
        this.env = { ...env, PULUMI_HOME: path.join(this.dir, ".pulumi-home") };
    }

    /** `npm run <script> -- args` in this machine's clone, in a process group of its own (to be killed whole). */
    start(script: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Run> } {
        const command = ["npm", "run", "--silent", script, "--", ...args];
        const argv = this.ownUts ? ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', this.hostname, ...command] : command;
        // (A variable given as undefined is unset.)
        const env = Object.fromEntries(Object.entries({ ...this.env, ...extraEnv }).filter(([, value]) => value !== undefined));
        const child = spawn(argv[0], argv.slice(1), { cwd: this.dir, env, detached: true });
        let output = "";
        child.stdout!.on("data", (chunk) => (output += chunk));
        child.stderr!.on("data", (chunk) => (output += chunk));
        const done = new Promise<Run>((resolve) => child.on("close", (status) => resolve({ status: status ?? 1, output })));
        return { child, done };
    }

    run(script: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
        return this.start(script, args, extraEnv).done;
    }

    /** The other machine's app code (what a `git pull` is). */
    pull(from: Machine): void {
        fs.copyFileSync(path.join(from.dir, "app", "server.js"), path.join(this.dir, "app", "server.js"));
    }

    /** A new release of the sample app in this clone (what a teammate's commit is). */
    changeApp(note: string): void {
        fs.appendFileSync(path.join(this.dir, "app", "server.js"), `\n// ${note}\n`);
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/**
 * The team setup of README "Teams": the state in Postgres on a test host (npm run state-server), one passphrase, two
 * machines (clones with separate Pulumi homes and hostnames) deploying one stack to another test host.
 */
describe("a team's shared state in Postgres, used from two machines", () => {
    const stack = `team-${crypto.randomBytes(3).toString("hex")}`;
    const passphrase = crypto.randomBytes(12).toString("hex");
    const postgresPassword = crypto.randomBytes(12).toString("hex");
    let engines: string[];
    let url = "";
    let a: Machine;
    let b: Machine;
    let appUrl = "";
    const up = (machine: Machine) => machine.run("pulumi", ["up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"]);
    const outputs = async (machine: Machine) => JSON.parse((await machine.run("pulumi", ["stack", "output", "--json", "--stack", stack])).output);
    const version = async () => (await http("GET", `${appUrl}/`)).json.version as string;
    /** Rows from the backend's database. */
    const query = async (sql: string, params: unknown[] = []) => {
        const client = new Client({ connectionString: url });
        await client.connect();
        try {
            return (await client.query(sql, params)).rows;
        } finally {
            await client.end();
        }
    };
    const lockKeys = () => `%/locks/organization/berth/${stack}/%`;
    /** The lock rows of the stack in the backend's table. */
    const lockRows = () => query("SELECT key FROM pulumi_state WHERE key LIKE $1", [lockKeys()]);
    /** Whether a lock of the stack is held with berth's heartbeat for it. */
    const heartbeatKept = async () =>
        (await query("SELECT 1 FROM berth_lock_heartbeats h JOIN pulumi_state p ON p.key = h.lock_key WHERE h.lock_key LIKE $1", [lockKeys()])).length === 1;
    const until = async (what: string, seconds: number, check: () => Promise<boolean> | boolean, seen = () => "") => {
        for (const deadline = Date.now() + seconds * 1000; !(await check()); await new Promise((resolve) => setTimeout(resolve, 200))) {
            if (Date.now() > deadline) throw new Error(`${what} did not happen within ${seconds} s${seen() && `: ${seen()}`}`);
        }
    };

    beforeAll(async () => {
        requireToolchain();
        engines = await testHosts(3);
        url = stateServer(engines[0]).trim().split("\n").pop()!;
        const team = { ...process.env, PULUMI_BACKEND_URL: url, PULUMI_CONFIG_PASSPHRASE: passphrase, PULUMI_CONFIG_PASSPHRASE_FILE: "", PULUMI_NODEJS_TRANSPILE_ONLY: "true" };
        a = new Machine(os.hostname(), false, team);
        b = new Machine("teammate-b", true, team);
        // The stack is made on A, its file committed and pulled by B (here: copied).
        expect((await a.run("pulumi", ["stack", "init", stack])).status).toBe(0);
        const file = path.join(a.dir, `Pulumi.${stack}.yaml`);
        const settings = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
        settings.config = {
            "berth:hosts": [engines[1]], "berth:bindAddress": "0.0.0.0", "berth:hostPort": await freePort(), "berth:branch": stack,
            "berth:services": hostServices,
        };
        fs.writeFileSync(file, yaml.dump(settings));
        for (const [key, value] of [["berth:registryPassword", fs.readFileSync(process.env.BERTH_REGISTRY_PASSWORD_FILE!, "utf8").trim()], ["berth:postgresPassword", postgresPassword]]) {
            const set = spawn("pulumi", ["config", "set", "--secret", key, "--stack", stack], { cwd: a.dir, env: { ...team, PULUMI_HOME: path.join(a.dir, ".pulumi-home") } });
            set.stdin!.end(value);
            expect(await new Promise((resolve) => set.on("close", resolve))).toBe(0);
        }
        fs.copyFileSync(file, path.join(b.dir, `Pulumi.${stack}.yaml`));
    });
    afterAll(async () => {
        if (b) await b.run("pulumi", ["destroy", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"]);
        if (engines) {
            cleanHosts(engines, stack);
            dockerAt(engines[0], "rm", "--force", "berth-state");
            dockerAt(engines[0], "volume", "rm", "--force", "berth-state-data");
        }
        a?.remove();
        b?.remove();
    });

    it("state-server prints the team's postgres:// URL last, and finds the running server again", async () => {
        expect(url).toMatch(/^postgres:\/\/berth:[^@]+@192\.168\.240\.11:5432\/berth_state\?sslmode=disable$/);
        expect(stateServer(engines[0]).trim().split("\n").pop()).toBe(url);
    });

    it("a stack made on one machine is deployed there, then checked, previewed by the workflows' commands and released from the other", async () => {
        const first = await up(a);
        expect(first.status, first.output).toBe(0);
        appUrl = (await outputs(a)).urls[0];
        const before = await version();

        const check = await b.run("check", ["--stack", stack]);
        expect(check.status, check.output).toBe(0);
        expect(check.output).toMatch(/\d+ unchanged/);
        expect(check.output).not.toMatch(/to (create|update|replace|delete)/);
        // The workflows' commands (pulumi/actions): a login to the backend's URL, then the CLI with the policy pack.
        const ci = { ...b.env, PULUMI_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "berth-ci-home-")) } as NodeJS.ProcessEnv;
        delete ci.PULUMI_BACKEND_URL;
        execFileSync("pulumi", ["login", url], { cwd: b.dir, env: ci, stdio: "ignore" });
        const preview = execFileSync("pulumi", ["preview", "--stack", stack, "--diff", "--policy-pack", "policy", "--non-interactive", "--expect-no-changes"], { cwd: b.dir, env: ci, encoding: "utf8" });
        expect(preview).toMatch(/\d+ unchanged/);
        fs.rmSync(ci.PULUMI_HOME!, { recursive: true, force: true });

        b.changeApp("a release from machine B");
        const release = await up(b);
        expect(release.status, release.output).toBe(0);
        expect(await version()).not.toBe(before);
        // Both machines see the same state: with B's commit pulled, nothing to do from A.
        a.pull(b);
        const fromA = await a.run("pulumi", ["preview", "--stack", stack, "--expect-no-changes", "--non-interactive"]);
        expect(fromA.status, fromA.output).toBe(0);
    });

    it("a wrong or missing passphrase stops every entry point before anything runs, naming the stack and what to set", async () => {
        const wrong = await b.run("pulumi", ["up", "--stack", stack, "--yes", "--non-interactive"], { PULUMI_CONFIG_PASSPHRASE: "not-the-team-one" });
        expect(wrong.status).not.toBe(0);
        expect(wrong.output).toContain(`stack ${stack}: its secrets cannot be opened with this machine's passphrase (Pulumi: incorrect passphrase). Nothing was run.`);
        expect(wrong.output).toContain("Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the passphrase of the stacks in postgres://berth:***@192.168.240.11:5432/berth_state");
        expect(wrong.output).not.toContain(url);
        expect(wrong.output).not.toMatch(/Updating|Previewing/);
        const missing = await b.run("pulumi", ["preview", "--stack", stack], { PULUMI_CONFIG_PASSPHRASE: undefined, PULUMI_CONFIG_PASSPHRASE_FILE: undefined });
        expect(missing.status).not.toBe(0);
        expect(missing.output).toMatch(new RegExp(`stack ${stack}: its secrets cannot be opened with this machine's passphrase \\(Pulumi: passphrase must be set`));
    });

    it("two machines racing `up`: exactly one runs, the other is refused naming the holder", async () => {
        a.changeApp("a race from A");
        b.changeApp("a race from B");
        const [ra, rb] = await Promise.all([up(a), up(b)]);
        const refused = [ra, rb].filter((r) => r.status !== 0);
        expect(refused.length, `A: ${ra.output}\nB: ${rb.output}`).toBe(1);
        expect(refused[0].output).toMatch(/currently locked by 1 lock\(s\)[^]*created by root@\S+ \(pid \d+\)/);
        // And while a run holds the stack (stopped there, to hold it as long as the check takes), the other machine's
        // entry point says who holds it and that it is alive, and Pulumi refuses it.
        a.changeApp("a long run from A");
        const held = a.start("pulumi", ["up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"]);
        await until("A's lock with its heartbeat", 60, heartbeatKept);
        process.kill(-held.child.pid!, "SIGSTOP");
        try {
            const second = await up(b);
            expect(second.status).not.toBe(0);
            expect(second.output).toMatch(new RegExp(`stack ${stack}: locked by root@${os.hostname()} \\(pid \\d+, since [^)]+\\): its last heartbeat was \\d+ s ago`));
            expect(second.output).toMatch(/currently locked by 1 lock\(s\)/);
        } finally {
            process.kill(-held.child.pid!, "SIGCONT");
        }
        const done = await held.done;
        expect(done.status, done.output).toBe(0);
        b.pull(a);
    });

    it("an `up` killed on A: B is refused with the reason, A's next entry point recovers it and `up` converges", async () => {
        a.changeApp("a killed release from A");
        const killed = a.start("pulumi", ["up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"]);
        // Killed once its lock has berth's heartbeat (the run is well under way).
        await until("A's lock with its heartbeat", 90, heartbeatKept);
        process.kill(-killed.child.pid!, "SIGKILL");
        await killed.done;
        // (berth's ssh masters to the hosts outlive it by design, ControlPersist: they hold no lock and run nothing.)
        const read = (pid: number, file: string, gone: string) => {
            try {
                return fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
            } catch {
                return gone; // gone meanwhile: nothing to wait for
            }
        };
        const runProcesses = () => processesWith(url).filter((pid) => read(pid, "comm", "ssh").trim() !== "ssh");
        const described = () => runProcesses().map((pid) => `${pid} ${read(pid, "cmdline", "").replace(/\0/g, " ").slice(0, 200)}`).join("; ");
        await until("the killed run's processes to end", 60, () => runProcesses().length === 0, described);
        expect((await lockRows()).length).toBe(1);

        const fromB = await up(b);
        expect(fromB.status).not.toBe(0);
        expect(fromB.output).toMatch(new RegExp(`locked by root@${os.hostname()} \\(pid \\d+, since [^)]+\\): its last heartbeat was \\d+ s ago \\(stale after 3 minutes without one\\)`));

        const next = await up(a);
        expect(next.status, next.output).toBe(0);
        expect(next.output).toMatch(new RegExp(`removed the lock of root@${os.hostname()} \\(pid \\d+, since [^)]+\\): its process \\(pid \\d+\\) no longer exists on this machine`));
        b.pull(a);
        const again = await b.run("pulumi", ["preview", "--stack", stack, "--expect-no-changes", "--non-interactive"]);
        expect(again.status, again.output).toBe(0);
    });

    it("the backend stopped in the middle of an `up`: a clear failure, the state intact, the next `up` converges", async () => {
        a.changeApp("a release while the backend restarts");
        const run = a.start("pulumi", ["up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"]);
        await until("A's lock", 60, async () => (await lockRows()).length > 0);
        dockerAt(engines[0], "stop", "berth-state");
        const stopped = Date.now();
        const failed = await Promise.race([run.done, new Promise<Run>((resolve) => setTimeout(() => resolve({ status: -1, output: "still running after 180 s" }), 180_000))]);
        console.log(`teams: the run failed ${((Date.now() - stopped) / 1000).toFixed(1)} s after the backend stopped`);
        // Meanwhile an entry point on the other machine stops before anything runs, naming the backend (not its password).
        const meanwhile = await b.run("pulumi", ["preview", "--stack", stack, "--non-interactive"]);
        dockerAt(engines[0], "start", "berth-state");
        expect(failed.status, failed.output).not.toBe(0);
        expect(failed.output).not.toMatch(/panic|goroutine/);
        expect(failed.output).toMatch(/192\.168\.240\.11:5432|connection refused|database/i);
        expect(meanwhile.status).not.toBe(0);
        expect(meanwhile.output).toContain(`stack ${stack}: the state backend postgres://berth:***@192.168.240.11:5432/berth_state?sslmode=disable does not answer`);
        expect(meanwhile.output).not.toContain(url);
        await until("the state server", 60, () => dockerAt(engines[0], "inspect", "--format", "{{.State.Health.Status}}", "berth-state") === "healthy");
        const next = await up(a);
        expect(next.status, next.output).toBe(0);
        b.pull(a);
        const again = await b.run("pulumi", ["preview", "--stack", stack, "--expect-no-changes", "--non-interactive"]);
        expect(again.status, again.output).toBe(0);
        expect((await http("GET", `${appUrl}/healthz`)).status).toBe(200);
    });

    it("the state table holds no secret in plaintext", async () => {
        const rows = await query("SELECT key, data::text AS data FROM pulumi_state");
        // Each row as stored, and the file it holds (base64 inside).
        const text = (rows as { key: string; data: string }[]).map((row) => {
            const encoded = (JSON.parse(row.data) as { data?: string }).data ?? "";
            return `${row.key} ${row.data} ${Buffer.from(encoded, "base64").toString("utf8")}`;
        }).join("\n");
        expect(text).toContain(`/stacks/berth/${stack}.json`);
        expect(text).toContain("4dabf18193072939515e22adb298388d"); // Pulumi's mark of a secret value, encrypted
        for (const secret of [postgresPassword, passphrase, fs.readFileSync(process.env.BERTH_REGISTRY_PASSWORD_FILE!, "utf8").trim()]) expect(text).not.toContain(secret);
    });

    it("history shows both machines' updates, who ran each, with the image each released; status matches docker ps", async () => {
        const history = await b.run("history", ["--stack", stack]);
        expect(history.status, history.output).toBe(0);
        const lines = history.output.trim().split("\n");
        const succeeded = lines.filter((line) => /  update   succeeded  /.test(line));
        expect(succeeded.some((line) => line.includes(`root@${os.hostname()}`))).toBe(true);
        expect(succeeded.some((line) => line.includes("root@teammate-b"))).toBe(true);
        for (const line of succeeded) expect(line).toMatch(/@sha256:[0-9a-f]{64}/);
        // A stack with no update yet is said so, the backend named without its password.
        const none = await b.run("history", ["--stack", "no-such-stack"]);
        expect(none.status).toBe(2);
        expect(none.output).toContain("stack no-such-stack has no update in postgres://berth:***@192.168.240.11:5432/berth_state");
        expect(none.output).not.toContain(url);
        // The newest is the release running now.
        expect(succeeded[0]).toContain((await outputs(a)).imageRef);

        const status = await a.run("status", ["--stack", stack]);
        expect(status.status, status.output).toBe(0);
        const listed = dockerAt(engines[1], "ps", "--filter", `label=berth.stack=${stack}`, "--format", "{{.Names}}").split("\n").filter(Boolean);
        expect(listed.length).toBeGreaterThan(1);
        for (const name of listed) {
            const image = dockerAt(engines[1], "inspect", "--format", "{{.Config.Image}}", name);
            expect(status.output).toMatch(new RegExp(`  ${name} .* ${image.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n`));
        }
        expect(status.output).toContain(`${engines[1]}:`);
        const app = listed.find((name) => name.includes("-shop-"))!;
        expect(status.output).toContain(`proxy routes to: ${app}:8080`);
        expect(status.output).toContain(`release: ${(await outputs(a)).imageRef}`);
        expect(status.output).toContain("drift: none");
    });

    it("npm start and npm run branch keep their stacks in the team's backend", async () => {
        // npm start deploys the stack `dev` on this machine's engine: a developer's own dev stack would be in the way.
        const mine = docker("ps", "-a", "-q", "--filter", "label=berth.stack=dev");
        if (mine) throw new Error("a stack `dev` runs on this machine's engine: this test deploys its own through npm start; remove yours first (npm run pulumi -- destroy --stack dev)");
        const branch = `team-${crypto.randomBytes(2).toString("hex")}`;
        const [started, branched] = await Promise.all([a.run("start", []), b.run("branch", ["up", branch])]);
        try {
            expect(started.status, started.output).toBe(0);
            expect((await http("GET", `${started.output.trim().split("\n").pop()}/healthz`)).status).toBe(200);
            expect(branched.status, branched.output).toBe(0);
            const listed = (await b.run("pulumi", ["stack", "ls", "--json"])).output;
            const names = (JSON.parse(listed) as { name: string }[]).map((s) => s.name);
            expect(names).toEqual(expect.arrayContaining(["dev", `branch-${branch}`, stack]));
        } finally {
            await b.run("branch", ["down", branch]);
            await a.run("pulumi", ["destroy", "--stack", "dev", "--yes", "--skip-preview", "--non-interactive"]);
            for (const kind of ["container", "volume"] as const) {
                const ids = docker(kind, "ls", ...(kind === "container" ? ["-a"] : []), "-q", "--filter", "label=berth.stack=dev").split("\n").filter(Boolean);
                if (ids.length > 0) docker(kind, "rm", "--force", ...ids);
            }
        }
    });
});
