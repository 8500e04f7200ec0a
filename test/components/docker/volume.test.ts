import { describe, expect, it } from "vitest";
import { acceptedLosses, lostDataMessage } from "../../../components/docker/providers/volume";

describe("a data volume deleted outside berth", () => {
    it("is reported as lost data, with the explicit step that accepts the loss", () => {
        const message = lostDataMessage("berth-dev-postgres-data", "");
        expect(message).toContain("data volume berth-dev-postgres-data no longer exists on the local Docker engine");
        expect(message).toContain("nothing was changed");
        expect(message).toContain("BERTH_ACCEPT_DATA_LOSS=berth-dev-postgres-data npm run pulumi -- up");
        expect(lostDataMessage("v", "ssh://deploy@h1")).toContain("no longer exists on ssh://deploy@h1");
    });

    it("is recreated empty only when named in BERTH_ACCEPT_DATA_LOSS", () => {
        expect(acceptedLosses({})).toEqual([]);
        expect(acceptedLosses({ BERTH_ACCEPT_DATA_LOSS: "a, b c" })).toEqual(["a", "b", "c"]);
    });
});
