import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { readTrackedStackFile, trackedSecretWarning, uncommittedSecrets } from "../../components/config/trackedSecrets";
import { cacheDir } from "../../components/cacheLayout";

const committed = "config:\n  berth:services:\n    redis: { kind: redis }\n  berth:registryPassword:\n    secure: v1:AAA\n";

describe("secrets written into a tracked stack file", () => {
    it("finds the secure values the working file adds or changes", () => {
        expect(uncommittedSecrets(committed, committed)).toEqual([]);
        const working = `${committed.replace("v1:AAA", "v1:BBB")}  berth:postgresPassword:\n    secure: v1:CCC\n`;
        expect(uncommittedSecrets(committed, working)).toEqual(["berth:postgresPassword", "berth:registryPassword"]);
        expect(uncommittedSecrets(working, committed)).toEqual(["berth:registryPassword"]);
    });

    it("warns only when this machine's own passphrase encrypted them", () => {
        const local = path.join(cacheDir(), "secrets", "local-stacks.passphrase");
        expect(trackedSecretWarning("Pulumi.dev.yaml", ["berth:postgresPassword"], local)).toEqual([
            `Pulumi.dev.yaml is tracked by git and now holds berth:postgresPassword, encrypted with this machine's own passphrase (${local}): `
            + "no other machine can decrypt them, so do not commit them (git checkout -- Pulumi.dev.yaml takes them out; npm start sets them again). "
            + "A team's stack keeps its secrets under the team's passphrase (PULUMI_CONFIG_PASSPHRASE), where committing them is the point.",
        ]);
        expect(trackedSecretWarning("Pulumi.staging.yaml", ["berth:postgresPassword"], "/run/secrets/team.passphrase")).toEqual([]);
        expect(trackedSecretWarning("Pulumi.staging.yaml", ["berth:postgresPassword"], undefined)).toEqual([]);
        expect(trackedSecretWarning("Pulumi.dev.yaml", [], local)).toEqual([]);
    });

    it("reads the committed and working text of a tracked stack file from git, nothing for an untracked one", () => {
        const repo = fs.mkdtempSync(path.join(os.tmpdir(), "berth-tracked-"));
        const git = (...args: string[]) => execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", ...args]);
        git("init", "-q");
        fs.writeFileSync(path.join(repo, "Pulumi.dev.yaml"), committed);
        git("add", "Pulumi.dev.yaml");
        git("commit", "-qm", "dev stack");
        fs.appendFileSync(path.join(repo, "Pulumi.dev.yaml"), "  berth:postgresPassword:\n    secure: v1:CCC\n");
        fs.writeFileSync(path.join(repo, "Pulumi.other.yaml"), committed);
        const tracked = readTrackedStackFile(repo, "dev")!;
        expect(tracked.file).toBe("Pulumi.dev.yaml");
        expect(uncommittedSecrets(tracked.committed, tracked.working)).toEqual(["berth:postgresPassword"]);
        expect(readTrackedStackFile(repo, "other")).toBeUndefined();
        expect(readTrackedStackFile(os.tmpdir(), "dev")).toBeUndefined();
        fs.rmSync(repo, { recursive: true, force: true });
    });
});
