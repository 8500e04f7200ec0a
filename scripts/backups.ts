/**
 * `npm run backups -- now|list|status --stack S [--service NAME]`: the stack's backups, through its scheduler on
 * each host that runs services with data (images/backup/berth-backup): a backup now (exits 1 if one failed), the
 * snapshots in the repository, or each service's last result.
 */
import { spawnSync } from "child_process";
import { cliEnvironment } from "../components/docker/cli";
import { LABEL } from "../components/naming";
import { dockerOn, parseOptions, runMain, stackHosts, UsageError } from "./replicas";

const USAGE = "usage: npm run backups -- now|list|status --stack <stack> [--service <name>]";

export interface ServiceStatus {
    service: string;
    kind?: string;
    lastSuccess?: string;
    lastAttempt?: string;
    snapshot?: string;
    bytes?: number;
    added?: number;
    seconds?: number;
    error?: string;
}

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** One line per service: its last success (size, duration, snapshot) and its last error, if any. */
export function statusLine(host: string, s: ServiceStatus): string {
    const success = s.lastSuccess ? `last success ${s.lastSuccess} (${mib(s.bytes ?? 0)}, ${mib(s.added ?? 0)} new, ${s.seconds ?? 0} s, snapshot ${s.snapshot?.slice(0, 8)})` : "never backed up";
    return `${host || "local"} ${s.service}: ${success}${s.error ? `; last attempt ${s.lastAttempt ?? "?"} failed: ${s.error}` : ""}`;
}

async function main(): Promise<number> {
    const [command, ...argv] = process.argv.slice(2);
    if (!["now", "list", "status"].includes(command ?? "")) throw new UsageError(USAGE);
    const { options } = parseOptions(argv, { values: ["stack", "service"] });
    if (!options.stack) throw new UsageError(USAGE);
    const schedulers = stackHosts(options.stack).flatMap((host) =>
        dockerOn(host, "ps", "--filter", `label=${LABEL.stack}=${options.stack}`, "--filter", `label=${LABEL.role}=backup`, "--format", "{{.Names}}")
            .split("\n").filter(Boolean).map((name) => ({ host, name })));
    if (schedulers.length === 0) throw new UsageError(`stack ${options.stack} runs no backup scheduler: set berth:backups and run up`);
    let rc = 0;
    for (const { host, name } of schedulers) {
        const args = command === "now" ? ["now", ...(options.service ? [options.service] : [])] : command === "list" ? ["list", ...(options.service ? [options.service] : [])] : ["status"];
        const run = spawnSync("docker", [...(host ? ["--host", host] : []), "exec", name, "berth-backup", ...args], { encoding: "utf8", env: cliEnvironment(host), timeout: 6 * 3600_000 });
        if (command === "status") {
            for (const line of run.stdout.split("\n").filter(Boolean)) {
                const status = JSON.parse(line) as ServiceStatus;
                if (!options.service || status.service === options.service) console.log(statusLine(host, status));
            }
        } else {
            process.stdout.write(run.stdout);
        }
        process.stderr.write(run.stderr);
        if (run.status !== 0) rc = 1;
    }
    return rc;
}

// Run as `node tools/register-typescript.js scripts/<this>.ts …` (npm run …); imported by tests for its pure parts.
if (process.argv[1] === __filename) runMain(main);
