import { describe, expect, it } from "vitest";
import { droppedReleases, nextReleases, sweepDue, SWEEP_EVERY_RELEASES } from "../../../components/docker/providers/releaseHistory";

describe("release history", () => {
    it("puts the new release first and keeps the configured number of previous ones", () => {
        expect(nextReleases([], "a", 3)).toEqual(["a"]);
        expect(nextReleases(["d", "c", "b", "a"], "e", 3)).toEqual(["e", "d", "c", "b"]);
    });

    it("moves a rolled-back release to the front instead of repeating it", () => {
        expect(nextReleases(["c", "b", "a"], "b", 3)).toEqual(["b", "c", "a"]);
    });

    it("drops the releases that fell off the history: one per release, several when keepReleases shrinks, none on a rollback", () => {
        expect(droppedReleases(["d", "c", "b", "a"], nextReleases(["d", "c", "b", "a"], "e", 3))).toEqual(["a"]);
        expect(droppedReleases(["d", "c", "b", "a"], nextReleases(["d", "c", "b", "a"], "e", 1))).toEqual(["c", "b", "a"]);
        expect(droppedReleases(["c", "b", "a"], nextReleases(["c", "b", "a"], "b", 3))).toEqual([]);
    });

    it("sweeps the engine on the first release of a history, then every SWEEP_EVERY_RELEASES-th", () => {
        expect(sweepDue(undefined)).toBe(true);
        const swept = [];
        let since: number | undefined;
        for (let release = 0; release < 3 * SWEEP_EVERY_RELEASES + 1; release++) {
            const sweep = sweepDue(since);
            if (sweep) swept.push(release);
            since = sweep ? 0 : since! + 1;
        }
        expect(swept).toEqual([0, SWEEP_EVERY_RELEASES, 2 * SWEEP_EVERY_RELEASES, 3 * SWEEP_EVERY_RELEASES]);
    });
});
