import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "berth-upgrade-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const git = (cwd: string, ...args: string[]) => {
    const run = spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    return run.stdout.trim();
};
const upgrade = (fork: string) => spawnSync("bash", ["scripts/upgrade.sh"], { cwd: fork, encoding: "utf8", timeout: 60_000 });

/** A team's fork of berth kept up to date with one command (docs/getting-started.md, step 1). */
describe("npm run upgrade", () => {
    it("merges berth's new commits into a fork, keeping the team's own; refuses what it must", () => {
        const upstream = path.join(scratch, "berth");
        const fork = path.join(scratch, "fork");
        git(scratch, "clone", "-q", "--no-hardlinks", "--branch", git(root, "rev-parse", "--abbrev-ref", "HEAD"), root, upstream);
        git(scratch, "clone", "-q", upstream, fork);
        git(fork, "remote", "rename", "origin", "upstream");
        git(fork, "checkout", "-q", "-B", "main");

        const none = spawnSync("bash", ["scripts/upgrade.sh"], { cwd: upstream, encoding: "utf8" });
        expect(none.status).toBe(1);

        // The team's stack file; berth's own change meanwhile.
        fs.writeFileSync(path.join(fork, "Pulumi.shop-staging.yaml"), "config:\n  berth:app: shop\n");
        git(fork, "add", "Pulumi.shop-staging.yaml");
        git(fork, "commit", "-qm", "our staging stack");
        fs.appendFileSync(path.join(upstream, "docs", "internals.md"), "\nA new paragraph from berth.\n");
        git(upstream, "commit", "-qam", "berth: docs");
        const upstreamBranch = git(upstream, "rev-parse", "--abbrev-ref", "HEAD");
        fs.appendFileSync(path.join(fork, "README.md"), "dirty\n");
        const dirty = upgrade(fork);
        expect(dirty.status).toBe(1);
        expect(dirty.stderr).toContain("uncommitted changes here");
        git(fork, "checkout", "--", "README.md");

        const merged = spawnSync("bash", ["scripts/upgrade.sh", upstreamBranch], { cwd: fork, encoding: "utf8", timeout: 60_000 });
        expect(merged.status, merged.stderr).toBe(0);
        expect(merged.stderr).toContain(`merged upstream/${upstreamBranch}: 2 new commits`);
        expect(fs.readFileSync(path.join(fork, "docs", "internals.md"), "utf8")).toContain("A new paragraph from berth.");
        expect(fs.readFileSync(path.join(fork, "Pulumi.shop-staging.yaml"), "utf8")).toBe("config:\n  berth:app: shop\n");
        const again = spawnSync("bash", ["scripts/upgrade.sh", upstreamBranch], { cwd: fork, encoding: "utf8", timeout: 60_000 });
        expect(again.stderr).toContain("already up to date");
    });
});
