import { describe, expect, it } from "vitest";
import { engineFacts, engineWarnings, MIN_FREE_BYTES } from "../../components/engineCheck";

const healthy = { LiveRestoreEnabled: true, Driver: "overlay2", DockerRootDir: "/var/lib/docker", Swarm: { LocalNodeState: "inactive" } };

/** What berth warns about an engine at preview, each with its fix. */
describe("engine checks", () => {
    it("says nothing about a well-set engine with room to spare", () => {
        expect(engineWarnings("", engineFacts(healthy, 50 * 1024 ** 3))).toEqual([]);
    });

    it("warns about an engine without live-restore, unless Swarm runs it", () => {
        const [warning] = engineWarnings("ssh://deploy@10.1.0.11", engineFacts({ ...healthy, LiveRestoreEnabled: false }));
        expect(warning).toMatch(/^ssh:\/\/deploy@10.1.0.11 runs without live-restore: a restart or upgrade of its dockerd stops every container/);
        expect(warning).toMatch(/"live-restore": true in \/etc\/docker\/daemon.json and reload dockerd/);
        expect(engineWarnings("", engineFacts({ ...healthy, LiveRestoreEnabled: false, Swarm: { LocalNodeState: "active" } }))).toEqual([]);
    });

    it("warns about a storage driver meant for no production use", () => {
        expect(engineWarnings("", engineFacts({ ...healthy, Driver: "vfs" }))[0]).toMatch(/the local Docker engine stores images with the vfs driver[^]*use overlay2/);
    });

    it("warns when the data root is nearly full, naming it and what frees space", () => {
        const [warning] = engineWarnings("", engineFacts(healthy, MIN_FREE_BYTES / 4));
        expect(warning).toMatch(/has 0\.5 GiB free on its data root \/var\/lib\/docker[^]*docker system prune -a/);
    });
});
