/**
 * The shared state's row of `npm run bench` (`BENCH_ONLY=state`): a no-op `up` (nothing changed) of the same stack
 * through berth's entry point (`npm run pulumi -- up`: recovery, passphrase check, the run, its heartbeat), its state
 * in the team's Postgres on test host h1 (npm run state-server) against the local file backend, same run, in turn.
 */
import { execFile } from "child_process";
import { dockerAt, projectRoot, stateServer, testHosts, throwawayStack, ThrowawayStack } from "../test/integration/harness";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** One no-op `up` of the stack through the entry point; its time. */
function noOpUp(env: ThrowawayStack): Promise<number> {
    const started = Date.now();
    return new Promise((resolve, reject) => execFile("npm", ["run", "--silent", "pulumi", "--", "up", "--stack", env.name, "--yes", "--skip-preview", "--non-interactive", "--expect-no-changes"],
        { cwd: projectRoot, env: { ...process.env, ...env.envVars }, encoding: "utf8", timeout: 600_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`no-op up of ${env.name}: ${stdout}${stderr}`)) : resolve(Date.now() - started))));
}

export async function stateBackendBench(): Promise<string> {
    const engines = await testHosts(1);
    const url = stateServer(engines[0]).trim().split("\n").pop()!;
    const stacks = { file: await throwawayStack(), postgres: await throwawayStack({}, {}, { backend: url }) };
    try {
        for (const env of Object.values(stacks)) await env.stack.up({ color: "never" });
        const times: Record<keyof typeof stacks, number[]> = { file: [], postgres: [] };
        // In turn, so both see the same machine.
        for (let round = 0; round < ROUNDS; round++) {
            for (const kind of ["file", "postgres"] as const) times[kind].push(await noOpUp(stacks[kind]));
        }
        const resources = (await stacks.file.stack.exportStack()).deployment.resources.length;
        const [file, postgres] = [median(times.file), median(times.postgres)];
        return [
            `| no-op \`npm run pulumi -- up\` (${resources} resources, ${ROUNDS} rounds, median) | time | vs file backend |`,
            "|---|---|---|",
            `| state in the local file backend (\`file://\`) | ${seconds(file)} | 1.00× |`,
            `| state in the team's Postgres on a test host (\`postgres://\`, npm run state-server) | ${seconds(postgres)} | ${(postgres / file).toFixed(2)}× |`,
        ].join("\n");
    } finally {
        for (const env of Object.values(stacks)) await env.remove();
        dockerAt(engines[0], "rm", "--force", "berth-state");
        dockerAt(engines[0], "volume", "rm", "--force", "berth-state-data");
    }
}
