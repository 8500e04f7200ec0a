import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "../load";
import { containerIds, devServices, docker, dockerObjects, engineHealth, http, setObjectConfig, ThrowawayStack, throwawayStack } from "./harness";

/**
 * Drift: what happens to a stack's containers, proxy, network and volumes by hand, outside berth. `preview
 * --refresh` shows it field by field (each resource's read asks the engine); a plain `up` repairs it (each
 * resource's diff asks the engine too).
 */
describe("drift on the real engine: preview shows it, up repairs it, a second up changes nothing", () => {
    let env: ThrowawayStack;
    let url: string;
    const note = `kept ${Date.now()}`;

    const containerOf = (part: string) => dockerObjects(env.name).containers.filter((n) => n.includes(`-${part}-`)).sort();
    const inspect = (name: string) => JSON.parse(docker("inspect", name))[0];

    /** `preview --refresh --diff`: what it would change, and its diff text. */
    async function preview(): Promise<{ changes: Record<string, number>; stdout: string }> {
        const result = await env.stack.preview({ color: "never", diff: true, refresh: true });
        const { same, ...changes } = result.changeSummary as Record<string, number>;
        return { changes, stdout: result.stdout };
    }

    /** A plain `up` (no refresh), then a second one that must change nothing. */
    async function upThenNothing(): Promise<Record<string, number>> {
        const result = await env.stack.up({ color: "never" });
        const again = await env.stack.up({ color: "never", expectNoChanges: true });
        expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
        const { same, ...changes } = (result.summary.resourceChanges ?? {}) as Record<string, number>;
        return changes;
    }

    beforeAll(async () => {
        env = await throwawayStack({ replicas: "2" });
        url = (await env.stack.up({ color: "never" })).outputs.url.value;
        expect((await http("POST", `${url}/rows`, { note })).status).toBe(201);
    });
    afterAll(async () => {
        await env?.remove();
    });

    it("a stopped replica is started again under load, with no failed request", async () => {
        const [stopped] = containerOf("shop");
        docker("stop", stopped);
        const shown = await preview();
        expect(shown.changes).toMatchObject({ update: expect.any(Number) });
        expect(shown.stdout).toMatch(/~ running\s*: true => false/);
        expect(inspect(stopped).State.Running).toBe(false); // preview changed nothing

        const load = startLoad(`${url}/`);
        const changes = await upThenNothing();
        const result = await load.stop();
        console.log(`drift repair under load: ${result.total} requests, ${result.failed} failed`, result.failures);
        expect(result.failures).toEqual({});
        expect(result.total).toBeGreaterThan(100);
        expect(changes.update).toBeGreaterThanOrEqual(1);
        expect(inspect(stopped).State.Running).toBe(true);
        expect(containerOf("shop")).toContain(stopped);
    });

    it("a service image nobody pushed: preview warns naming it; up fails before the database is touched, and the app it serves under load fails nothing", async () => {
        const [postgres] = containerOf("postgres");
        const typo = "127.0.0.1:5000/berth/postgres:15-typo";
        await setObjectConfig(env.stack, "services", { ...devServices, postgres: { ...devServices.postgres, image: typo } });
        try {
            const shown = await env.stack.preview({ color: "never" });
            expect(shown.stdout).toContain(`services.postgres: ${typo} is not on the local engine, and its engine cannot find it in the registry`);
            const load = startLoad(`${url}/rows`, 4, 300);
            try {
                await expect(env.stack.up({ color: "never" })).rejects.toThrow(/the new image 127\.0\.0\.1:5000\/berth\/postgres:15-typo could not be pulled, so berth-.*-postgres-\w+ \(berth\/postgres:15\) runs on as it was/);
            } finally {
                const result = await load.stop();
                console.log(`service image typo under load: ${result.total} requests, failures`, result.failures);
                expect(result.failures).toEqual({});
                expect(result.total).toBeGreaterThan(100);
            }
            expect(containerOf("postgres")).toEqual([postgres]);
            expect(inspect(postgres).State.Running).toBe(true);
        } finally {
            await setObjectConfig(env.stack, "services", devServices);
        }
        expect(await upThenNothing()).toEqual({});
    });

    it("a killed service (docker kill: its restart policy does not apply) is started again with its data", async () => {
        const [postgres] = containerOf("postgres");
        docker("kill", postgres);
        expect(inspect(postgres).State.Running).toBe(false);
        expect((await preview()).changes).toMatchObject({ update: expect.any(Number) });
        await upThenNothing();
        expect(inspect(postgres).State.Running).toBe(true);
        expect((await http("GET", `${url}/rows`)).json.rows.map((r: { note: string }) => r.note)).toContain(note);
    });

    it("a removed container is created again", async () => {
        const [redis] = containerOf("redis");
        docker("rm", "--force", redis);
        expect((await preview()).changes).toMatchObject({ create: 1 });
        // Redis is created again (an update of its resource). Replicas whose healthcheck failed without it meanwhile
        // (on a slow machine the preview alone outlasts their retries) are recovered too: updates, nothing else.
        const changes = await upThenNothing();
        expect(Object.keys(changes)).toEqual(["update"]);
        expect(containerOf("redis")).toHaveLength(1);
        expect((await http("POST", `${url}/hits`)).status).toBe(200);
    });

    it("restart policy and memory changed with docker update are set back in place", async () => {
        const replicas = containerOf("shop");
        docker("update", "--restart", "no", "--memory", "100m", "--memory-swap", "100m", replicas[0]);
        const shown = await preview();
        expect(shown.stdout).toMatch(/~ restart\s*: "unless-stopped" => "no"/);
        expect(shown.stdout).toMatch(/~ memoryBytes\s*: 268435456 => 104857600/);
        expect(shown.changes).toMatchObject({ update: expect.any(Number) });
        await upThenNothing();
        const after = inspect(replicas[0]);
        expect(after.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
        expect(after.HostConfig.Memory).toBe(256 * 1024 ** 2);
        expect(containerOf("shop")).toEqual(replicas);
    });

    it("a proxy whose routes were emptied gets them back", async () => {
        const [proxy] = containerOf("proxy");
        docker("exec", proxy, "sh", "-c", "echo 'server 127.0.0.1:1 down;' > /etc/nginx/berth/upstream.conf && nginx -s reload");
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect((await http("GET", `${url}/`)).status).toBe(502);
        const shown = await preview();
        expect(shown.stdout).toMatch(/~ pulumi-nodejs:dynamic\/berth:ProxyRoutes: \(refresh\)[^]*- \[0\]: "\d+\.\d+\.\d+\.\d+:8080"/);
        expect(shown.changes).toMatchObject({ update: 1 });
        expect((await upThenNothing()).update).toBe(1);
        expect((await http("GET", `${url}/`)).status).toBe(200);
        expect(containerOf("proxy")).toEqual([proxy]);
    });

    it("a replica the engine started again on another address (as after a reboot) gets its route back", async () => {
        const network = `berth-${env.name}-net`;
        const [moved] = containerOf("shop");
        const addressOf = (name: string) => inspect(name).NetworkSettings.Networks[network].IPAddress as string;
        const before = addressOf(moved);
        docker("stop", moved);
        // Another container takes the freed address, as the engine's start order does after a reboot.
        const squatter = `${env.name}-squatter`;
        docker("run", "--detach", "--name", squatter, "--network", network, "--entrypoint", "sleep", inspect(moved).Config.Image, "300");
        try {
            docker("start", moved);
            const after = addressOf(moved);
            expect(after).not.toBe(before);
            const [proxy] = containerOf("proxy");
            const routes = () => docker("exec", proxy, "cat", "/etc/nginx/berth/upstream.conf");
            expect(routes()).toContain(`${before}:8080`);
            expect((await upThenNothing()).update).toBeGreaterThanOrEqual(2); // the replica's address, the routes
            expect(routes()).toContain(`${after}:8080`);
            expect(routes()).not.toContain(`${before}:8080`);
        } finally {
            docker("rm", "--force", squatter);
        }
    });

    it("a removed network is created again; containers that lost it are replaced, a stopped one that cannot start too", async () => {
        const network = `berth-${env.name}-net`;
        const [redis] = containerOf("redis");
        docker("stop", redis); // stays attached to the network that is about to go, so it cannot start again
        // The proxy is not on it: it listens on the host's network.
        const onNetwork = (n: string) => !n.includes("-proxy-");
        for (const name of Object.keys(containerIds(env.name)).filter((n) => n !== redis && onNetwork(n))) docker("network", "disconnect", "--force", network, name);
        docker("network", "rm", network);
        expect((await preview()).changes).toMatchObject({ create: expect.any(Number), replace: expect.any(Number) });
        await upThenNothing();
        expect(dockerObjects(env.name).networks).toEqual([network]);
        expect(containerOf("redis")).toHaveLength(1);
        expect(containerOf("redis")).not.toContain(redis);
        for (const name of Object.keys(containerIds(env.name))) {
            expect(Object.keys(inspect(name).NetworkSettings.Networks)).toEqual([onNetwork(name) ? network : "host"]);
        }
        expect((await http("GET", `${url}/rows`)).json.rows.map((r: { note: string }) => r.note)).toContain(note);
    });

    it("a removed data volume is reported as lost data, never silently recreated empty", async () => {
        const volume = `berth-${env.name}-redis-data`;
        docker("rm", "--force", ...containerOf("redis"));
        docker("volume", "rm", volume);
        const before = containerIds(env.name);
        const lost = new RegExp(`data volume ${volume} no longer exists on the local Docker engine[^]*BERTH_ACCEPT_DATA_LOSS=${volume}`);
        await expect(env.stack.preview({ color: "never" })).rejects.toThrow(lost);
        await expect(env.stack.preview({ color: "never", refresh: true })).rejects.toThrow(lost);
        await expect(env.stack.up({ color: "never" })).rejects.toThrow(lost);
        expect(containerIds(env.name)).toEqual(before);
        expect(dockerObjects(env.name).volumes).not.toContain(volume);

        process.env.BERTH_ACCEPT_DATA_LOSS = volume;
        try {
            // The volume and its service's container, both recreated in place (app replicas that went unhealthy
            // while Redis was gone are replaced too, so at least 2).
            expect((await env.stack.up({ color: "never" })).summary.resourceChanges?.update).toBeGreaterThanOrEqual(2);
        } finally {
            delete process.env.BERTH_ACCEPT_DATA_LOSS;
        }
        // Replicas the engine had not yet marked unhealthy when that `up` looked may have been marked since; they
        // reconnect to the recovered Redis and pass their next check on their own. Once the engine agrees, nothing is
        // left to repair.
        for (const container of dockerObjects(env.name).containers) expect(["healthy", "none"]).toContain(await engineHealth(container, 60_000, ["starting", "unhealthy"]));
        expect(Object.keys((await env.stack.up({ color: "never", expectNoChanges: true })).summary.resourceChanges ?? {})).toEqual(["same"]);
        expect(dockerObjects(env.name).volumes).toContain(volume);
        expect((await http("POST", `${url}/hits`)).json.hits).toBe(1);
    });
});
