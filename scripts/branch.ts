/**
 * `npm run branch -- up <branch> [--set key=value …]` creates or updates the stack `branch-<name>` from
 * branch-template.yaml: its own network, services and (ephemeral) volumes, its image `<registry>/<app>/<branch>:<sha>`,
 * a host port no other branch stack holds. `npm run branch -- down <branch>` destroys it with its volumes and
 * images and removes the stack. Nothing of any other stack is touched.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as yaml from "js-yaml";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { BRANCH_STACK_PREFIX, branchDomains, BranchNameError, branchStackName, pickHostPort } from "../components/branches";
import { passwordKey } from "../components/config";
import { kindOf, needsPassword, ServiceKind, serviceKinds } from "../components/serviceKinds";
import { currentUpdateMessage } from "./history";
import { RecoveryError, recoverStack } from "./recover";
import { withHeartbeat } from "./stateLocks";
import { dockerOn } from "./replicas";
import { LABEL } from "../components/naming";

const projectRoot = path.resolve(__dirname, "..");
const USAGE = "usage: npm run branch -- up <branch> [--set key=value ...] | down <branch>";

class UsageError extends Error {}

type StackConfigFile = { config?: Record<string, unknown>; [key: string]: unknown };
const stackFile = (stack: string) => path.join(projectRoot, `Pulumi.${stack}.yaml`);
const readStackFile = (file: string): StackConfigFile => (fs.existsSync(file) ? (yaml.load(fs.readFileSync(file, "utf8")) as StackConfigFile) ?? {} : {});

function say(message: string): void {
    process.stderr.write(`berth: ${message}\n`);
}

function parseSets(args: string[]): Record<string, unknown> {
    const sets: Record<string, unknown> = {};
    for (let i = 0; i < args.length; i++) {
        const match = args[i] === "--set" ? /^([A-Za-z][\w]*)=(.*)$/s.exec(args[i + 1] ?? "") : null;
        if (!match) throw new UsageError(`unexpected ${JSON.stringify(args[i])}: ${USAGE}`);
        // A value that is YAML (a number, an object) is kept as such, like in a stack file.
        sets[`berth:${match[1]}`] = yaml.load(match[2]) ?? match[2];
        i++;
    }
    return sets;
}

/** Whether something on this machine already listens on 127.0.0.1:port. */
function portInUse(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer().once("error", () => resolve(true));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(false)));
    });
}

async function hostPortFor(stack: string, otherBranchStacks: string[]): Promise<number> {
    const taken = new Set(otherBranchStacks.map((s) => Number(readStackFile(stackFile(s)).config?.["berth:hostPort"])).filter((p) => p > 0));
    for (;;) {
        const port = pickHostPort(stack, taken);
        if (!(await portInUse(port))) return port;
        taken.add(port);
    }
}

/** Fails, changing nothing, when the stack a name maps to was made for a different branch. */
function checkOwner(stack: string, branch: string): void {
    const owner = readStackFile(stackFile(stack)).config?.["berth:branch"];
    if (owner !== undefined && owner !== branch) {
        throw new BranchNameError(branch, `it maps to stack ${stack}, which belongs to branch ${JSON.stringify(owner)}; rename the branch`);
    }
}

async function up(branch: string, stackName: string, sets: Record<string, unknown>): Promise<void> {
    const workspace = await LocalWorkspace.create({ workDir: projectRoot });
    const branchStacks = (await workspace.listStacks()).map((s) => s.name).filter((s) => s.startsWith(BRANCH_STACK_PREFIX));
    checkOwner(stackName, branch);
    const stack = await LocalWorkspace.createOrSelectStack({ stackName, workDir: projectRoot });

    // The stack file as Pulumi made it (its encryption salt, any secrets set before) with the template on top.
    const file = stackFile(stackName);
    const current = readStackFile(file);
    const template = readStackFile(path.join(projectRoot, "branch-template.yaml")).config ?? {};
    const hostPort = current.config?.["berth:hostPort"] ?? (await hostPortFor(stackName, branchStacks.filter((s) => s !== stackName)));
    const secure = Object.fromEntries(Object.entries(current.config ?? {}).filter(([, v]) => typeof v === "object" && v !== null && "secure" in v));
    const config: Record<string, unknown> = { ...template, ...secure, ...sets, "berth:branch": branch, "berth:hostPort": hostPort };
    // The template's names (`{branch}.staging.example.com`) made this branch's own.
    if (config["berth:domains"] !== undefined) config["berth:domains"] = branchDomains(config["berth:domains"], stackName);
    fs.writeFileSync(file, `# Per-branch stack of ${JSON.stringify(branch)}, written by npm run branch (from branch-template.yaml).\n${yaml.dump({ ...current, config })}`);

    await setMissingSecrets(stack, config);
    say(`deploying branch ${JSON.stringify(branch)} as stack ${stackName}`);
    await recoverStack(stackName, { cwd: projectRoot });
    const result = await withHeartbeat(stackName, () => stack.up({ color: "never", message: currentUpdateMessage(projectRoot), onOutput: (out) => process.stdout.write(out) }));
    say(`branch ${JSON.stringify(branch)} answers at ${result.outputs.url?.value ?? "(no public port)"}`);
}

/** The registry login from this machine's setup (or the environment, in CI); a fresh password per database. */
async function setMissingSecrets(stack: Stack, config: Record<string, unknown>): Promise<void> {
    const has = async (key: string) => (await stack.getConfig(key).then(() => true, () => false));
    if (!(await has("berth:registryPassword"))) {
        const file = process.env.BERTH_REGISTRY_PASSWORD_FILE;
        const password = process.env.BERTH_REGISTRY_PASSWORD ?? (file && fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : undefined);
        if (!password) throw new UsageError("no registry password: set BERTH_REGISTRY_PASSWORD (or run npm run setup for the local registry)");
        await stack.setConfig("berth:registryPassword", { value: password, secret: true });
    }
    const services = (config["berth:services"] ?? {}) as Record<string, { kind?: string }>;
    const hostCount = Math.max(1, ((config["berth:hosts"] ?? []) as unknown[]).length);
    for (const [name, service] of Object.entries(services)) {
        const key = `berth:${passwordKey(name)}`;
        const kind = kindOf(name, service.kind);
        // A kind berth does not know is left to preview, which names it.
        if (serviceKinds.includes(kind as ServiceKind) && needsPassword(kind as ServiceKind, hostCount) && !(await has(key))) {
            await stack.setConfig(key, { value: crypto.randomBytes(18).toString("base64url"), secret: true });
        }
    }
}

async function down(branch: string, stackName: string): Promise<void> {
    const workspace = await LocalWorkspace.create({ workDir: projectRoot });
    if (!(await workspace.listStacks()).some((s) => s.name === stackName)) {
        throw new UsageError(`branch ${JSON.stringify(branch)} has no stack (${stackName}); nothing to remove`);
    }
    checkOwner(stackName, branch);
    const stack = await LocalWorkspace.selectStack({ stackName, workDir: projectRoot });
    const hosts = (readStackFile(stackFile(stackName)).config?.["berth:hosts"] ?? []) as string[];
    say(`destroying stack ${stackName} of branch ${JSON.stringify(branch)}, its volumes included`);
    await recoverStack(stackName, { cwd: projectRoot });
    await withHeartbeat(stackName, () => stack.destroy({ color: "never", message: currentUpdateMessage(projectRoot), onOutput: (out) => process.stdout.write(out) }));
    // Releases stay on the engines for rollback while a stack lives; with the branch gone, its builds go too: on the
    // engine that built them and on every host that pulled them.
    let removed = 0;
    for (const host of new Set(["", ...hosts])) {
        const docker = (...args: string[]) => dockerOn(host, ...args);
        const images = [...new Set(docker("image", "ls", "-q", "--filter", `label=${LABEL.builtBy}=${stackName}`).split("\n").filter(Boolean))];
        if (images.length > 0) docker("image", "rm", "--force", ...images);
        removed += images.length;
    }
    await workspace.removeStack(stackName);
    say(`branch ${JSON.stringify(branch)}: stack ${stackName} and its ${removed} image(s) removed`);
}

async function main(argv: string[]): Promise<void> {
    const [command, branch, ...rest] = argv;
    if ((command !== "up" && command !== "down") || branch === undefined) throw new UsageError(USAGE);
    const stackName = branchStackName(branch);
    if (command === "up") await up(branch, stackName, parseSets(rest));
    else if (rest.length > 0) throw new UsageError(USAGE);
    else await down(branch, stackName);
}

main(process.argv.slice(2)).catch((err: Error) => {
    // Errors berth words itself (usage, branch names, recovery: a passphrase, a backend, a host) without a stack trace.
    say(`error: ${err instanceof UsageError || err instanceof BranchNameError || err instanceof RecoveryError ? err.message : err.stack ?? err.message}`);
    process.exit(err instanceof UsageError || err instanceof BranchNameError ? 2 : 1);
});
