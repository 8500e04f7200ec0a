import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { validateWorkflow, ValidationError } from "@action-validator/core";
import { afterAll, describe, expect, it } from "vitest";

// The GitHub Actions workflows, checked two ways: structurally by action-validator (SchemaStore's workflow
// schema plus cross-job checks such as `needs`, compiled to WASM and run in-process), and semantically here.
// Neither can check what `uses:` actions accept, so the pulumi/actions inputs are asserted by name below.

const root = path.resolve(__dirname, "..");
const workflowDir = path.join(root, ".github", "workflows");
const workflowFiles = fs.readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f)).sort();

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "berth-workflows-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** action-validator's errors for one workflow file, flattened to `path: title (detail)` lines. */
function validate(file: string): string[] {
    const lines: string[] = [];
    const walk = (errors: ValidationError[]) => {
        for (const e of errors) {
            lines.push(`${"path" in e ? e.path : ""}: ${e.title}${e.detail ? ` (${e.detail})` : ""}`);
            if ("states" in e) for (const state of e.states ?? []) walk(state.errors);
        }
    };
    walk(validateWorkflow(fs.readFileSync(file, "utf8")).errors);
    return lines;
}

function writeScratch(name: string, text: string): string {
    const file = path.join(scratch, name);
    fs.writeFileSync(file, text);
    return file;
}

interface Step {
    name?: string;
    id?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}
interface Job {
    "runs-on": string;
    needs?: string | string[];
    environment?: string | { name: string };
    strategy?: { "fail-fast"?: boolean; matrix: Record<string, unknown> };
    concurrency?: { group: string; "cancel-in-progress"?: boolean };
    env?: Record<string, string>;
    steps: Step[];
}
interface Workflow {
    on: Record<string, any>;
    permissions?: Record<string, string>;
    concurrency?: { group: string; "cancel-in-progress"?: boolean };
    jobs: Record<string, Job>;
}

/** pulumi/actions' inputs as of its v6 tag (action.yml at v6.6.1). */
const pulumiActionsV6Inputs = [
    "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr", "comment-on-pr-number",
    "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel", "message", "config-map",
    "expect-no-changes", "diff", "replace", "exclude", "exclude-dependents", "target", "target-dependents", "policyPacks",
    "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan",
    "suppress-outputs", "suppress-progress", "always-include-summary", "continue-on-error", "log-verbosity", "log-flow", "debug",
];

const load = (file: string) => yaml.load(fs.readFileSync(path.join(workflowDir, file), "utf8")) as Workflow;

/** The one job that runs pulumi/actions to preview or change a stack, and that step. */
function pulumiJob(workflow: Workflow): { job: Job; step: Step } {
    const found = Object.values(workflow.jobs).flatMap((job) =>
        job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@") && ["up", "preview"].includes(String(s.with?.command))).map((step) => ({ job, step })),
    );
    expect(found).toHaveLength(1);
    return found[0];
}

/** Runs a workflow `run:` script the way the runner's default bash shell does, with `env` and cwd = repo root. */
function runStep(script: string, env: Record<string, string>) {
    return spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
        cwd: root,
        env: { PATH: process.env.PATH ?? "", ...env },
        encoding: "utf8",
    });
}

const stepNamed = (job: Job, name: string) => {
    const step = job.steps.find((s) => s.name === name);
    expect(step, `a step named "${name}"`).toBeDefined();
    return step!;
};

describe("the workflows pass action-validator", () => {
    it("finds the four workflows", () => {
        expect(workflowFiles).toEqual(["deploy-production.yml", "deploy-staging.yml", "pull-request.yml", "rollback-production.yml"]);
    });

    it.each(workflowFiles)("%s has no errors", (file) => {
        expect(validate(path.join(workflowDir, file))).toEqual([]);
    });
});

describe("action-validator really catches mistakes", () => {
    const minimal = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n";

    it("accepts a minimal valid workflow (so the rejections below are about the mistake)", () => {
        expect(validate(writeScratch("minimal.yml", minimal))).toEqual([]);
    });

    it("rejects a job without runs-on", () => {
        const errors = validate(writeScratch("no-runs-on.yml", minimal.replace("    runs-on: ubuntu-latest\n", "")));
        expect(errors.join("\n")).toContain("/jobs/build/runs-on: This property is required");
    });

    it("rejects an unknown key", () => {
        const errors = validate(writeScratch("unknown-key.yml", minimal.replace("    runs-on:", "    run-on: x\n    runs-on:")));
        expect(errors.join("\n")).toContain("Additional property 'run-on' is not allowed");
    });

    it("rejects a job that needs a job that does not exist", () => {
        const errors = validate(writeScratch("bad-needs.yml", minimal.replace("    runs-on:", "    needs: test\n    runs-on:")));
        expect(errors.join("\n")).toContain("unresolved job test");
    });

    it("rejects a YAML syntax error", () => {
        expect(validate(writeScratch("broken.yml", "on: push\njobs: [\n")).join("\n")).toContain("Parse Error");
    });

    it("rejects a one-character mistake in this repo's own pull-request workflow", () => {
        const real = fs.readFileSync(path.join(workflowDir, "pull-request.yml"), "utf8");
        const broken = real.replace("pull-requests: write", "pull-requests: writ");
        expect(broken).not.toBe(real);
        expect(validate(writeScratch("pull-request.yml", broken)).join("\n")).toContain("/permissions/pull-requests");
    });
});

describe("what the workflows do", () => {
    const pr = load("pull-request.yml");
    const staging = load("deploy-staging.yml");
    const production = load("deploy-production.yml");
    const rollback = load("rollback-production.yml");
    const all: [string, Workflow][] = [["pull-request.yml", pr], ["deploy-staging.yml", staging], ["deploy-production.yml", production], ["rollback-production.yml", rollback]];

    it("pull requests to main preview staging and production, with the policy pack, commenting the diff", () => {
        expect(Object.keys(pr.on)).toEqual(["pull_request"]);
        expect(pr.on.pull_request.branches).toEqual(["main"]);
        expect(pr.permissions).toEqual({ contents: "read", "pull-requests": "write" });

        const { job, step } = pulumiJob(pr);
        expect(job.strategy?.matrix.stack).toEqual(["staging", "production"]);
        expect(job.strategy?.["fail-fast"]).toBe(false);
        expect(step.with).toMatchObject({
            command: "preview",
            "stack-name": "${{ matrix.stack }}",
            diff: true,
            "comment-on-pr": true,
            "github-token": "${{ secrets.GITHUB_TOKEN }}",
            policyPacks: "policy",
        });
        // One preview per PR and stack at a time; a newer push cancels the older preview.
        expect(job.concurrency?.group).toContain("${{ github.event.pull_request.number }}");
        expect(job.concurrency?.group).toContain("${{ matrix.stack }}");
        expect(job.concurrency?.["cancel-in-progress"]).toBe(true);
        // The type-check runs before the preview (ts-node is transpile-only, so the preview would not catch a type error).
        expect(job.steps.findIndex((s) => s.run === "npm run build")).toBeGreaterThan(job.steps.findIndex((s) => s.run === "npm ci"));
    });

    it("staging runs `up` on pushes to main and nothing else, one deploy at a time, never cancelled", () => {
        expect(Object.keys(staging.on)).toEqual(["push"]);
        expect(staging.on.push).toEqual({ branches: ["main"] });
        expect(pulumiJob(staging).step.with).toMatchObject({ command: "up", "stack-name": "staging", policyPacks: "policy" });
        expect(staging.concurrency).toEqual({ group: "deploy-staging", "cancel-in-progress": false });
        expect(staging.permissions).toEqual({ contents: "read" });
    });

    it("production runs `up` when a change to its stack file is merged (a promotion), or by hand confirmed, behind the production environment", () => {
        expect(Object.keys(production.on)).toEqual(["push", "workflow_dispatch"]);
        expect(production.on.push).toEqual({ branches: ["main"], paths: ["Pulumi.production.yaml"] });
        expect(production.on.workflow_dispatch.inputs.confirm).toMatchObject({ required: true, type: "string" });

        const { job, step } = pulumiJob(production);
        expect(job.environment).toBe("production");
        expect(step.with).toMatchObject({ command: "up", "stack-name": "production", policyPacks: "policy" });
        expect(production.concurrency).toEqual({ group: "deploy-production", "cancel-in-progress": false });
        expect(production.permissions).toEqual({ contents: "read" });

        // By hand, the confirmation runs first; a merge skips it, and only a merge may go on without it.
        expect(job.needs).toBe("confirm");
        expect((job as Job & { if?: string }).if).toBe("always() && (needs.confirm.result == 'success' || (needs.confirm.result == 'skipped' && github.event_name == 'push'))");
        const confirm = production.jobs.confirm;
        expect((confirm as Job & { if?: string }).if).toBe("github.event_name == 'workflow_dispatch'");
        expect(confirm.environment).toBeUndefined();
        expect(confirm.steps).toHaveLength(1);
        expect(confirm.steps[0].env).toEqual({ CONFIRM: "${{ inputs.confirm }}", REF: "${{ github.ref }}" });
    });

    it("the confirmation step refuses anything but \"production\" typed on main", () => {
        const script = production.jobs.confirm.steps[0].run!;
        expect(runStep(script, { CONFIRM: "production", REF: "refs/heads/main" }).status).toBe(0);

        const typo = runStep(script, { CONFIRM: "prod", REF: "refs/heads/main" });
        expect(typo.status).not.toBe(0);
        expect(typo.stdout).toContain('::error::type "production"');

        const branch = runStep(script, { CONFIRM: "production", REF: "refs/heads/feature" });
        expect(branch.status).not.toBe(0);
        expect(branch.stdout).toContain("production deploys from main only");

        // An input crafted as shell is data, not code: it reaches the script through env, never ${{ }} in `run`.
        const injection = runStep(script, { CONFIRM: 'production"; exit 0; "', REF: "refs/heads/main" });
        expect(injection.status).not.toBe(0);
        expect(script).not.toContain("${{");
    });

    it.each(all)("%s sets up node 20, npm ci, the deploy key and state backend the same way", (file, workflow) => {
        const { job, step } = pulumiJob(workflow);
        expect(step.uses).toBe("pulumi/actions@v6");
        expect(job.steps[0]).toEqual({ uses: "actions/checkout@v4" });
        expect(job.steps[1]).toEqual({ uses: "actions/setup-node@v4", with: { "node-version": 20, cache: "npm" } });
        expect(job.steps[2]).toEqual({ run: "npm ci" });
        expect(job.steps[job.steps.length - 1]).toBe(step);
        expect(job.env).toEqual({
            PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
            PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
        });
        // The team's backend URL holds its database's password: a secret, never a variable (printed in logs).
        expect(step.with?.["cloud-url"]).toBe("${{ secrets.PULUMI_BACKEND_URL }}");
        // GitHub only warns about an unknown `with:` key (e.g. policy-packs for policyPacks) and runs without it.
        expect(pulumiActionsV6Inputs).toEqual(expect.arrayContaining(Object.keys(step.with ?? {})));
        expect(step.with?.["pulumi-version"]).toBe("${{ steps.pulumi.outputs.version }}");

        // The deploy key is loaded with plain shell, from secrets, before Pulumi runs.
        const ssh = stepNamed(job, "Load the deploy SSH key");
        expect(ssh.uses).toBeUndefined();
        expect(ssh.env).toEqual({ DEPLOY_SSH_KEY: "${{ secrets.DEPLOY_SSH_KEY }}", DEPLOY_KNOWN_HOSTS: "${{ secrets.DEPLOY_KNOWN_HOSTS }}" });
        expect(job.steps.indexOf(ssh)).toBeLessThan(job.steps.indexOf(step));

        // Identical setup everywhere (the comments say "change them together"): every step up to the deploy key.
        const shared = (w: Workflow) => {
            const steps = pulumiJob(w).job.steps.filter((s) => s.name !== "Type-check");
            return steps.slice(0, steps.findIndex((s) => s.name === "Load the deploy SSH key") + 1);
        };
        expect(shared(workflow), file).toEqual(shared(pr));
    });

    it("every action is referenced as owner/repo@version (the validator does not look at `uses:`)", () => {
        for (const [file, workflow] of all) {
            for (const job of Object.values(workflow.jobs)) {
                for (const step of job.steps) {
                    if (step.uses !== undefined) expect(step.uses, file).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
                }
            }
        }
    });

    it("the Pulumi CLI version step yields the @pulumi/pulumi version from package-lock.json", () => {
        const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"));
        const sdk: string = lock.packages["node_modules/@pulumi/pulumi"].version;
        expect(sdk).toMatch(/^\d+\.\d+\.\d+$/);
        for (const [file, workflow] of all) {
            const output = writeScratch(`github-output-${file}`, "");
            const result = runStep(stepNamed(pulumiJob(workflow).job, "Pulumi CLI version").run!, { GITHUB_OUTPUT: output });
            expect(result.status, result.stderr).toBe(0);
            expect(fs.readFileSync(output, "utf8"), file).toBe(`version=${sdk}\n`);
        }
    });

    it("the SSH step writes a private key, known hosts and an ssh config that uses them, and fails without the secrets", () => {
        const script = stepNamed(pulumiJob(pr).job, "Load the deploy SSH key").run!;
        const home = fs.mkdtempSync(path.join(scratch, "home-"));
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----";
        const knownHosts = "staging-1.internal ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample";
        const result = runStep(script, { HOME: home, DEPLOY_SSH_KEY: key, DEPLOY_KNOWN_HOSTS: knownHosts });
        expect(result.status, result.stderr).toBe(0);

        const ssh = path.join(home, ".ssh");
        expect(fs.statSync(ssh).mode & 0o777).toBe(0o700);
        expect(fs.statSync(path.join(ssh, "deploy_key")).mode & 0o777).toBe(0o600);
        expect(fs.readFileSync(path.join(ssh, "deploy_key"), "utf8")).toBe(`${key}\n`);
        expect(fs.readFileSync(path.join(ssh, "known_hosts"), "utf8")).toBe(`${knownHosts}\n`);
        const config = fs.readFileSync(path.join(ssh, "config"), "utf8");
        expect(config).toContain("IdentityFile ~/.ssh/deploy_key");
        expect(config).toContain("StrictHostKeyChecking yes");

        // OpenSSH itself resolves ssh://deploy@host to that key only, and refuses hosts not in known_hosts.
        const resolved = spawnSync("ssh", ["-F", path.join(ssh, "config"), "-G", "deploy@staging-1.internal"], { encoding: "utf8" });
        expect(resolved.error, "the OpenSSH client (ssh) must be installed").toBeUndefined();
        expect(resolved.status, resolved.stderr).toBe(0);
        const effective = resolved.stdout;
        expect(effective).toMatch(/^identityfile ~\/\.ssh\/deploy_key$/m);
        expect(effective).toMatch(/^identitiesonly yes$/m);
        expect(effective).toMatch(/^stricthostkeychecking (yes|true)$/m);

        const missing = runStep(script, { HOME: fs.mkdtempSync(path.join(scratch, "home-")), DEPLOY_SSH_KEY: "", DEPLOY_KNOWN_HOSTS: knownHosts });
        expect(missing.status).not.toBe(0);
        expect(missing.stderr).toContain("the DEPLOY_SSH_KEY secret is not set");

        // Without DEPLOY_KNOWN_HOSTS (the stack's berth:knownHosts covers its hosts) no known_hosts line is invented.
        const keysFromStack = fs.mkdtempSync(path.join(scratch, "home-"));
        const withoutKnownHosts = runStep(script, { HOME: keysFromStack, DEPLOY_SSH_KEY: key, DEPLOY_KNOWN_HOSTS: "" });
        expect(withoutKnownHosts.status, withoutKnownHosts.stderr).toBe(0);
        expect(fs.existsSync(path.join(keysFromStack, ".ssh", "known_hosts"))).toBe(false);
        expect(fs.readFileSync(path.join(keysFromStack, ".ssh", "config"), "utf8")).toContain("StrictHostKeyChecking yes");
    });

    it("a rollback is chosen (a digest, or the stack's previous release), committed to main, then deployed behind the production environment", () => {
        expect(Object.keys(rollback.on)).toEqual(["workflow_dispatch"]);
        expect(rollback.on.workflow_dispatch.inputs.image).toMatchObject({ required: true, default: "previous", type: "string" });
        expect(rollback.permissions).toEqual({ contents: "write" });
        expect(rollback.concurrency).toEqual({ group: "deploy-production", "cancel-in-progress": false });
        const { job, step } = pulumiJob(rollback);
        expect(job.environment).toBe("production");
        expect(step.with).toMatchObject({ command: "up", "stack-name": "production", policyPacks: "policy" });
        const outputs = job.steps.find((s) => s.id === "running")!;
        expect(outputs.with).toMatchObject({ command: "output", "stack-name": "production" });
        const commit = stepNamed(job, "Commit the rollback");
        expect(job.steps.indexOf(outputs)).toBeLessThan(job.steps.indexOf(commit));
        expect(job.steps.indexOf(commit)).toBeLessThan(job.steps.indexOf(step));
        expect(commit.env).toEqual({ IMAGE: "${{ inputs.image }}", PREVIOUS: "${{ steps.running.outputs.previousImageRef }}", REF: "${{ github.ref }}" });
        expect(commit.run).not.toContain("${{");

        // The script itself, in a clone of a scratch repository, with a pulumi that edits the stack file as `config set` does.
        const origin = fs.mkdtempSync(path.join(scratch, "origin-"));
        const clone = fs.mkdtempSync(path.join(scratch, "clone-"));
        const bin = fs.mkdtempSync(path.join(scratch, "bin-"));
        const git = (cwd: string, ...args: string[]) => spawnSync("git", args, { cwd, encoding: "utf8" });
        git(origin, "init", "-q", "--bare", "-b", "main");
        git(clone, "clone", "-q", origin, ".");
        fs.writeFileSync(path.join(clone, "Pulumi.production.yaml"), "config:\n  berth:image: r/shop/main@sha256:" + "b".repeat(64) + "\n");
        git(clone, "add", "Pulumi.production.yaml");
        git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "bad release");
        git(clone, "push", "-q", "origin", "HEAD:main");
        fs.writeFileSync(path.join(bin, "pulumi"), '#!/bin/sh\n[ "$1 $2 $3 $5 $6" = "config set berth:image --stack production" ] || exit 9\nprintf "config:\\n  berth:image: %s\\n" "$4" > Pulumi.production.yaml\n', { mode: 0o755 });
        const run = (env: Record<string, string>) => spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", commit.run!], {
            cwd: clone, encoding: "utf8", env: { PATH: `${bin}:${process.env.PATH}`, HOME: clone, GITHUB_ACTOR: "someone", REF: "refs/heads/main", ...env },
        });
        const previous = "r/shop/main@sha256:" + "a".repeat(64);
        const done = run({ IMAGE: "previous", PREVIOUS: previous });
        expect(done.status, done.stderr + done.stdout).toBe(0);
        expect(git(origin, "log", "-1", "--format=%s", "main").stdout.trim()).toBe(`Roll production back to ${previous}`);
        expect(git(origin, "show", "main:Pulumi.production.yaml").stdout).toBe(`config:\n  berth:image: ${previous}\n`);
        // Again: nothing to commit, deployed as it is.
        const again = run({ IMAGE: previous, PREVIOUS: "" });
        expect(again.status, again.stderr).toBe(0);
        expect(again.stdout).toContain(`already runs ${previous}`);
        // Refused: a tag (it could move), a crafted input, a branch other than main.
        for (const image of ["r/shop/main:latest", `${previous}; rm -rf /`, ""]) {
            const refused = run({ IMAGE: image, PREVIOUS: "" });
            expect(refused.status, image).not.toBe(0);
            expect(refused.stdout).toContain("::error::roll back to a digest-pinned image");
        }
        expect(run({ IMAGE: previous, PREVIOUS: "", REF: "refs/heads/x" }).stdout).toContain("rolls back from main only");
    });
});
