import { describe, expect, it } from "vitest";
import { nextReleases } from "../../../components/docker/providers/releaseHistory";

describe("release history", () => {
    it("puts the new release first and keeps the configured number of previous ones", () => {
        expect(nextReleases([], "a", 3)).toEqual(["a"]);
        expect(nextReleases(["d", "c", "b", "a"], "e", 3)).toEqual(["e", "d", "c", "b"]);
    });

    it("moves a rolled-back release to the front instead of repeating it", () => {
        expect(nextReleases(["c", "b", "a"], "b", 3)).toEqual(["b", "c", "a"]);
    });
});
