import { describe, expect, it } from "vitest";
import { DEFAULT_KEEP, parseBackups, parseEvery, parseRepository, requiredSecrets } from "../../components/config";
import * as path from "path";
import { configWithDefaults } from "./mocks";
import { parseSettings } from "../../components/config";

const backups = (value: object, extra: Record<string, unknown> = {}) => parseBackups(configWithDefaults({ backups: value, ...extra }));
const messageOf = (run: () => unknown) => {
    try {
        run();
    } catch (err) {
        return (err as Error).message;
    }
    return "";
};

describe("berth:backups", () => {
    it("is off unless set", () => {
        expect(parseBackups(configWithDefaults({}))).toBeUndefined();
    });

    it("reads an sftp repository, an interval or a daily time, and what to keep", () => {
        expect(backups({ repository: "sftp:deploy@backup-1.internal:/srv/berth-backups", every: "6h", keep: { daily: 3 } })).toEqual({
            repository: "sftp:deploy@backup-1.internal:/srv/berth-backups", sftp: { user: "deploy", host: "backup-1.internal" },
            schedule: { everySeconds: 21600 }, keep: { ...DEFAULT_KEEP, daily: 3 }, beforeRelease: true,
        });
        expect(backups({ repository: "rest:https://backups.internal:8000/shop", at: "03:30" }, { backupBeforeRelease: false })).toEqual({
            repository: "rest:https://backups.internal:8000/shop", schedule: { atUtc: "03:30" }, keep: DEFAULT_KEEP, beforeRelease: false,
        });
        expect(parseRepository("r", "sftp:deploy@192.168.240.13:/srv/b").sftp).toEqual({ user: "deploy", host: "192.168.240.13" });
        expect(parseEvery("e", "30s")).toBe(30);
        expect(parseEvery("e", "1d")).toBe(86400);
    });

    it("refuses what restic or ssh would read otherwise, every problem at once", () => {
        const message = messageOf(() => backups({ repository: "sftp:deploy@host:/srv/../etc", every: "5s", at: "3am", keep: { daily: -1, yearly: 2 }, where: "x" }));
        expect(message).toContain('berth:backups.where = "x": not a field of berth:backups');
        const all = messageOf(() => backups({ repository: "sftp:-oProxyCommand=x@host:/b", every: "5s", keep: { daily: -1, yearly: 2 } }));
        expect(all).toContain("berth:backups.repository");
        expect(all).toContain('berth:backups.every = "5s": use an interval from 10s to 7d');
        expect(all).toContain("berth:backups.keep.yearly = 2: not a retention count");
        expect(all).toContain("berth:backups.keep.daily = -1: use a whole number from 0 to 1000");
        for (const repository of ["/srv/backups", "s3:bucket", "sftp:deploy@host:relative", "sftp:Deploy@host:/b", "sftp:deploy@ho st:/b", "rest:ftp://x/y", "sftp:deploy@host:/b;rm"]) {
            expect(() => parseRepository("backups.repository", repository), repository).toThrow(/use a restic repository as restic spells it/);
        }
        expect(messageOf(() => parseRepository("backups.repository", "rest:https://user:secret@host/x"))).not.toContain("secret");
        // Untrusted text never makes a check slow.
        const started = Date.now();
        expect(() => parseRepository("backups.repository", `sftp:d@h:/${"a/".repeat(5000)}!`)).toThrow();
        expect(() => parseRepository("backups.repository", "sftp:d@h:/srv//b")).toThrow();
        expect(Date.now() - started).toBeLessThan(100);
        expect(messageOf(() => backups({ repository: "sftp:d@h:/b", every: "6h", at: "03:00" }))).toContain("set exactly one of every");
        expect(messageOf(() => backups({ repository: "sftp:d@h:/b" }))).toContain("set exactly one of every");
        expect(messageOf(() => backups({ repository: "sftp:d@h:/b", at: "24:00" }))).toContain('berth:backups.at = "24:00": use a time of day in UTC');
        expect(messageOf(() => backups({ repository: "sftp:d@h:/b", every: "1h", keep: { daily: 0, weekly: 0, monthly: 0 } }))).toContain("keep at least one snapshot");
    });

    it("needs the repository's password, and the SSH key of an sftp: one", () => {
        const settings = (value: object) => parseSettings(configWithDefaults({ backups: value }), path.resolve(__dirname, "../.."));
        expect(requiredSecrets(settings({ repository: "sftp:d@h:/b", every: "1h" }))).toEqual(expect.arrayContaining(["backupPassword", "backupSshKey"]));
        expect(requiredSecrets(settings({ repository: "rest:http://h:8000/b", every: "1h" }))).toContain("backupPassword");
        expect(requiredSecrets(settings({ repository: "rest:http://h:8000/b", every: "1h" }))).not.toContain("backupSshKey");
    });
});
