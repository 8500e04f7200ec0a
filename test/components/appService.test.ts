import { describe, expect, it } from "vitest";
import { replicaHostPort } from "../../components/appService";

describe("replica host ports", () => {
    it("are consecutive from hostPort, or none", () => {
        expect([0, 1, 2].map((i) => replicaHostPort({ hostPort: 8080, proxy: false }, i))).toEqual([8080, 8081, 8082]);
        expect(replicaHostPort({ hostPort: 0, proxy: false }, 1)).toBe(0);
    });

    it("are none behind the proxy, which owns hostPort", () => {
        expect(replicaHostPort({ hostPort: 8080, proxy: true }, 0)).toBe(0);
    });
});
