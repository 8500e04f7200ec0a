import { describe, expect, it } from "vitest";
import { describe as name, withoutHost } from "../../scripts/forgetHost";

const urn = (type: string, n: string) => `urn:pulumi:prod::berth::berth:app:Environment$${type}::${n}`;
const dynamic = (t: string) => `pulumi-nodejs:dynamic/berth:${t}`;

describe("forgetting a lost host's resources", () => {
    it("drops berth's resources on that host and every reference to them, nothing else", () => {
        const lostVolume = { urn: urn(dynamic("DockerVolume"), "prod-postgres-data-volume"), type: dynamic("DockerVolume"), inputs: { host: "ssh://deploy@h1" }, outputs: { host: "ssh://deploy@h1" } };
        const lostContainer = { urn: urn(dynamic("DockerContainer"), "prod-postgres-container"), type: dynamic("DockerContainer"), outputs: { host: "ssh://deploy@h1" }, dependencies: [lostVolume.urn], deletedWith: lostVolume.urn };
        const component = { urn: urn("berth:service:DependencyService", "prod-postgres"), type: "berth:service:DependencyService" };
        const other = {
            urn: urn(dynamic("DockerContainer"), "prod-app-h2"), type: dynamic("DockerContainer"), outputs: { host: "ssh://deploy@h2" },
            dependencies: [lostContainer.urn, component.urn], propertyDependencies: { env: [lostContainer.urn], image: [component.urn] }, deletedWith: lostContainer.urn,
        };
        const { deployment, forgotten } = withoutHost({ manifest: { time: "t" }, resources: [component, lostVolume, lostContainer, other] }, "ssh://deploy@h1");
        expect(forgotten.map(name)).toEqual(["DockerVolume prod-postgres-data-volume", "DockerContainer prod-postgres-container"]);
        expect(deployment).toEqual({
            manifest: { time: "t" },
            resources: [component, { urn: other.urn, type: other.type, outputs: other.outputs, dependencies: [component.urn], propertyDependencies: { env: [], image: [component.urn] } }],
        });
        expect(withoutHost({ resources: [component, other] }, "ssh://deploy@h1").forgotten).toEqual([]);
    });
});
