import { describe, expect, it } from "vitest";
import { backupEnvironment, backedUp, isBackedUp, keepFlags, linesNaming, schedulerMounts, sqlServicesBackedUpOn } from "../../components/backupScheduler";
import { statusLine } from "../../scripts/backups";
import { staleBackups } from "../../components/engineCheck";

const settings = { repository: "sftp:deploy@backup-1.internal:/srv/b", sftp: { user: "deploy", host: "backup-1.internal" }, schedule: { everySeconds: 21600 }, keep: { daily: 7, weekly: 4, monthly: 6 }, beforeRelease: true };

describe("the backup scheduler's settings", () => {
    it("hands the scheduler its repository, schedule, retention and each service, passwords by position", () => {
        const services = [
            { name: "postgres", kind: "postgres" as const, address: "postgres", port: 5432, user: "app", database: "app" },
            { name: "cache", kind: "redis" as const, address: "cache", port: 6379, user: "", database: "" },
        ];
        expect(backupEnvironment({ host: "ssh://deploy@10.0.0.1", stack: "staging", settings, knownHosts: ["backup-1.internal ssh-ed25519 AAAA"] }, services,
            { repositoryPassword: "rp", sshKey: "KEY", passwords: ["pg", ""] })).toEqual({
            RESTIC_REPOSITORY: "sftp:deploy@backup-1.internal:/srv/b",
            RESTIC_PASSWORD: "rp",
            BERTH_BACKUP_SSH_KEY: "KEY",
            BERTH_BACKUP_KNOWN_HOSTS: "backup-1.internal ssh-ed25519 AAAA",
            BERTH_BACKUP_EVERY: "21600",
            BERTH_BACKUP_KEEP: "--keep-daily 7 --keep-weekly 4 --keep-monthly 6",
            BERTH_STACK: "staging",
            BERTH_HOST: "ssh://deploy@10.0.0.1",
            BERTH_BACKUP_SERVICES: "postgres:postgres:postgres:5432:app:app cache:redis:cache:6379::",
            BERTH_BACKUP_SECRET_0: "pg",
            BERTH_BACKUP_SECRET_1: "",
        });
        // RabbitMQ is backed up through the engine: its container found by its labels.
        expect(backupEnvironment({ host: "", stack: "staging", settings, knownHosts: [] }, [{ name: "broker", kind: "rabbitmq", address: "broker", port: 5672, user: "app", database: "" }],
            { repositoryPassword: "rp", passwords: ["mq"] })).toMatchObject({ BERTH_BACKUP_FILTER_0: '{"label":["berth.stack=staging","berth.role=dependency","berth.service=broker"]}' });
        const daily = backupEnvironment({ host: "", stack: "dev", settings: { ...settings, sftp: undefined, repository: "rest:http://b:8000/x", schedule: { atUtc: "03:30" } }, knownHosts: [] }, [], { repositoryPassword: "rp", passwords: [] });
        expect(daily).toMatchObject({ BERTH_BACKUP_AT: "03:30", BERTH_HOST: "local" });
        expect(Object.keys(daily)).not.toContain("BERTH_BACKUP_SSH_KEY");
        expect(keepFlags({ daily: 1, weekly: 0, monthly: 12 })).toBe("--keep-daily 1 --keep-weekly 0 --keep-monthly 12");
    });

    it("backs up the kinds it can dump, reaching each by its name on the stack network", () => {
        expect(["postgres", "mysql", "redis", "rabbitmq", "custom"].map((kind) => isBackedUp({ kind } as never))).toEqual([true, true, true, true, true]);
        const postgres = { name: "db", kind: "postgres" } as never;
        expect(backedUp(postgres, { alias: "db", port: 5432, user: "app", password: "pw", volume: "s-db-data" })).toEqual({ name: "db", kind: "postgres", address: "db", port: 5432, user: "app", database: "app", password: "pw" });
        const files = { name: "files", kind: "custom", image: "minio", port: 9000, dataPath: "/data" } as never;
        expect(backedUp(files, { alias: "files", port: 9000, user: "", password: "", volume: "s-files-data" })).toMatchObject({ kind: "custom", volume: "s-files-data" });
    });

    it("mounts the engine's socket only for kinds that go through it, and a custom service's volume beside it", () => {
        expect(schedulerMounts("s-backup", [{ name: "db", kind: "postgres" }, { name: "cache", kind: "redis" }])).toEqual([{ source: "s-backup", target: "/var/lib/berth-backup", readOnly: false }]);
        expect(schedulerMounts("s-backup", [{ name: "db", kind: "postgres" }, { name: "files", kind: "custom", volume: "s-files-data" }])).toEqual([
            { source: "s-backup", target: "/var/lib/berth-backup", readOnly: false },
            { source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: false, bind: true },
            { source: "s-files-data", target: "/volumes/files", readOnly: false, shared: true },
        ]);
    });

    it("backs up before a release command the SQL services the app depends on, on each scheduler's host", () => {
        const services = [{ name: "db", kind: "postgres" }, { name: "orders", kind: "mysql" }, { name: "cache", kind: "redis" }, { name: "reports", kind: "postgres" }] as never[];
        const hostOf = (s: { name: string }) => (s.name === "orders" ? "h2" : "h1");
        expect(sqlServicesBackedUpOn("h1", services, ["db", "cache", "orders"], hostOf)).toEqual(["db"]);
        expect(sqlServicesBackedUpOn("h2", services, ["db", "cache", "orders"], hostOf)).toEqual(["orders"]);
        expect(sqlServicesBackedUpOn("h1", services, ["cache"], hostOf)).toEqual([]);
    });

    it("finds the repository host's lines among known_hosts lines", () => {
        const lines = ["backup-1.internal ssh-ed25519 A", "other ssh-ed25519 B", "[backup-1.internal]:2222 ssh-ed25519 C", "x,backup-1.internal ssh-rsa D", "# backup-1.internal"];
        expect(linesNaming("backup-1.internal", lines)).toEqual(["backup-1.internal ssh-ed25519 A", "[backup-1.internal]:2222 ssh-ed25519 C", "x,backup-1.internal ssh-rsa D"]);
    });

    it("warns at preview about a service whose last success is older than twice the interval, or that never had one", () => {
        const now = Date.parse("2026-12-04T12:00:00Z") / 1000;
        const statuses = [
            { service: "db", lastSuccessEpoch: now - 3600, error: "" },
            { service: "orders", lastSuccessEpoch: now - 13 * 3600, error: "the repository sftp:… cannot be opened: no route" },
            { service: "cache", error: "no backup yet" },
        ];
        expect(staleBackups("ssh://deploy@h1", statuses, { everySeconds: 6 * 3600 }, now - 60, now)).toEqual([
            "ssh://deploy@h1: the backup of orders last succeeded 2026-12-03T23:00:00.000Z, longer ago than twice its interval (43200 s); its last attempt failed: the repository sftp:… cannot be opened: no route. npm run backups -- status shows each service's last result.",
        ]);
        // A scheduler running for days without one success; a daily schedule allows two days.
        expect(staleBackups("", statuses, { atUtc: "03:30" }, now - 3 * 86400, now)).toEqual([expect.stringMatching(/^the local engine: the backup of cache has never succeeded, longer ago than twice its interval \(172800 s\); its last attempt failed: no backup yet/)]);
    });

    it("prints each service's last success and last error", () => {
        expect(statusLine("ssh://deploy@h1", { service: "postgres", lastSuccess: "2026-12-04T03:30:05Z", bytes: 3 * 1024 ** 2, added: 1024 ** 2 / 2, seconds: 4, snapshot: "0123456789abcdef", error: "" }))
            .toBe("ssh://deploy@h1 postgres: last success 2026-12-04T03:30:05Z (3.0 MiB, 0.5 MiB new, 4 s, snapshot 01234567)");
        expect(statusLine("", { service: "files", lastSuccess: "2026-12-04T03:30:05Z", bytes: 0, added: 0, seconds: 2, pausedSeconds: 0.6, snapshot: "89abcdef01234567", error: "" }))
            .toBe("local files: last success 2026-12-04T03:30:05Z (0.0 MiB, 0.0 MiB new, 2 s, paused 0.6 s, snapshot 89abcdef)");
        expect(statusLine("", { service: "redis", lastAttempt: "2026-12-04T04:00:00Z", error: "the repository sftp:… cannot be opened" }))
            .toBe("local redis: never backed up; last attempt 2026-12-04T04:00:00Z failed: the repository sftp:… cannot be opened");
    });
});
