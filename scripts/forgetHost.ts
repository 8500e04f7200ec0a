/**
 * `npm run forget-host -- --stack S --host ssh://… [--yes]`: a host that is gone for good (a dead machine, a deleted
 * VM) leaves the stack's state holding containers, volumes and routes on it, which no `up` can remove and every entry
 * point would try to reach. This drops them from the stack's state (Pulumi's `state delete`, for a whole host at
 * once) after checking that the host really does not answer; the next `up`, with a new host in its place in
 * berth:hosts, creates everything there afresh, and `npm run backups -- restore` brings the data back.
 * Without --yes it only says what it would forget.
 */
import { execFile, execFileSync } from "child_process";
import { cliEnvironment, useStackKnownHosts } from "../components/docker/cli";
import { stackKnownHostsId } from "../components/docker/dockerResource";
import { importState } from "./recover";
import { parseOptions, PROJECT, projectRoot, runMain, UsageError } from "./replicas";

const USAGE = "usage: npm run forget-host -- --stack <stack> --host <engine address as in berth:hosts> [--yes]";
/** How long the host gets to answer before it counts as gone. */
const ANSWER_SECONDS = 20;

interface StateResource {
    urn: string;
    type: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    deletedWith?: string;
}

export interface Deployment {
    resources?: StateResource[];
    [key: string]: unknown;
}

/** The state without `host`'s resources (berth's own, on that engine), and no reference left to them. */
export function withoutHost(deployment: Deployment, host: string): { deployment: Deployment; forgotten: StateResource[] } {
    const resources = deployment.resources ?? [];
    const onHost = (r: StateResource) => r.type.startsWith("pulumi-nodejs:dynamic/berth:") && (r.outputs?.host ?? r.inputs?.host) === host;
    const forgotten = resources.filter(onHost);
    const gone = new Set(forgotten.map((r) => r.urn));
    const kept = resources.filter((r) => !gone.has(r.urn)).map((r) => {
        const { deletedWith, ...rest } = r;
        return {
            ...rest,
            ...(r.dependencies ? { dependencies: r.dependencies.filter((urn) => !gone.has(urn)) } : {}),
            ...(r.propertyDependencies ? { propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([key, urns]) => [key, urns.filter((urn) => !gone.has(urn))])) } : {}),
            ...(deletedWith && !gone.has(deletedWith) ? { deletedWith } : {}),
        };
    });
    return { deployment: { ...deployment, resources: kept }, forgotten };
}

/** `<type> <name>` of a state resource, as `pulumi stack --show-urns` names it. */
export function describe(resource: StateResource): string {
    return `${resource.type.split(/[:/]/).pop()} ${resource.urn.split("::").pop()}`;
}

/** Whether the engine at `host` answers within ANSWER_SECONDS. */
function answers(host: string): Promise<boolean> {
    return new Promise((resolve) => execFile("docker", ["--host", host, "version", "--format", "{{.Server.Version}}"],
        { env: cliEnvironment(host), timeout: ANSWER_SECONDS * 1000, killSignal: "SIGKILL" }, (err) => resolve(!err)));
}

async function main(): Promise<number> {
    const { options } = parseOptions(process.argv.slice(2), { values: ["stack", "host"], flags: ["yes"] });
    if (!options.stack || !options.host) throw new UsageError(USAGE);
    const { stack, host } = options;
    const pulumi = (...args: string[]) => execFileSync("pulumi", [...args, "--stack", stack], { cwd: projectRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
    let exported: { deployment?: Deployment };
    try {
        exported = JSON.parse(pulumi("stack", "export"));
    } catch (err) {
        throw new UsageError(`the state of stack ${stack} cannot be read: ${String((err as { stderr?: string }).stderr ?? err).trim()}`);
    }
    const { deployment, forgotten } = withoutHost(exported.deployment ?? {}, host);
    if (forgotten.length === 0) throw new UsageError(`stack ${stack} has nothing on ${host} in its state (its hosts are the engine addresses of berth:hosts, as written there)`);
    useStackKnownHosts(stackKnownHostsId(PROJECT, stack));
    if (await answers(host)) {
        throw new UsageError(`${host} answers: it is not gone. Take it out of berth:hosts and run up, which removes what runs there; forget-host is for a host that never comes back.`);
    }
    const list = forgotten.map((r) => `  ${describe(r)}`).join("\n");
    if (!options.yes) {
        console.error(`berth: ${host} does not answer within ${ANSWER_SECONDS} s. Stack ${stack}'s state would forget its ${forgotten.length} resources there:\n${list}\n`
            + "Nothing is removed from the host itself (it cannot be reached): if it ever comes back, remove the stack's containers and volumes there by hand. Run again with --yes to do it.");
        return 2;
    }
    importState({ ...exported, deployment }, pulumi);
    console.log(`berth: stack ${stack} forgot ${forgotten.length} resources on ${host}:\n${list}\n`
        + `Next: put the new host in its place in berth:hosts (and its key in berth:knownHosts) and run up; then, for each service with data, `
        + `npm run backups -- list --stack ${stack} --service <name> shows the last snapshot tagged host=${host}, and `
        + `npm run backups -- restore --stack ${stack} --service <name> --snapshot <its id> --yes puts it back (the latest is the new host's empty service).`);
    return 0;
}

// Run as `node tools/register-typescript.js scripts/forgetHost.ts …` (npm run forget-host); imported by tests for its pure parts.
if (process.argv[1] === __filename) runMain(main);
