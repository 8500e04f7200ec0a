import { describe, expect, it } from "vitest";
import { createArgs } from "../../../components/docker/commands/container";
import { compareVersions, ingressContainer, parseAdminAnswer } from "../../../components/docker/providers/ingress";
import { issuanceErrors } from "../../../components/docker/providers/ingressRoute";
import { initialConfig } from "../../../components/ingressConfig";
import { ingressVersion } from "../../../components/ingress";

describe("the ingress container", () => {
    it("is one per engine on the host's network, with its volume, restarted always, its log rotated, no stack's label", () => {
        const inputs = { host: "ssh://deploy@h1", image: "reg/berth/ingress@sha256:ab", version: "2.11.9-1", httpPort: 80, httpsPort: 443, logRotation: { maxSize: "10m", maxFiles: 3 } };
        expect(createArgs("berth-ingress", ingressContainer(inputs), "json-file")).toEqual([
            "create", "--name", "berth-ingress", "--label", "berth.role=ingress", "--restart", "always",
            "--memory", String(256 * 1024 ** 2), "--memory-swap", String(256 * 1024 ** 2), "--stop-timeout", "30",
            "--log-opt", "max-file=3", "--log-opt", "max-size=10m", "--network", "host",
            "--mount=type=volume,source=berth-ingress,target=/var/lib/berth-ingress", "reg/berth/ingress@sha256:ab",
        ]);
        expect(ingressContainer(inputs).env).toEqual({ BERTH_INGRESS_CONFIG: initialConfig(80, 443) });
    });

    it("is replaced only by a newer version-revision, whatever order stacks of different berth versions come in", () => {
        expect(compareVersions("2.11.9-2", "2.11.9-1")).toBe(1);
        expect(compareVersions("2.11.10-1", "2.11.9-7")).toBe(1);
        expect(compareVersions("2.11.9-1", "2.11.9-1")).toBe(0);
        expect(compareVersions("2.10.0-9", "2.11.9-1")).toBe(-1);
        expect(compareVersions("2.11.9-1", "")).toBe(1);
        expect(ingressVersion()).toMatch(/^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+$/);
        expect(ingressVersion("ARG CADDY_VERSION=2.12.0\nFROM x\nARG INGRESS_REVISION=3\n")).toBe("2.12.0-3");
    });

    it("reads the admin API's status, ETag and body from curl's --include output", () => {
        expect(parseAdminAnswer('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nEtag: "/config/apps 3f2a"\r\n\r\n{"http":{}}\n'))
            .toEqual({ status: 200, etag: '"/config/apps 3f2a"', body: '{"http":{}}\n' });
        expect(parseAdminAnswer("HTTP/1.1 412 Precondition Failed\r\n\r\n").status).toBe(412);
    });

    it("takes from the ingress's log the failures to get a certificate for the names waited on, not interrupted attempts", () => {
        const log = [
            '{"level":"error","logger":"tls.obtain","msg":"could not get certificate from issuer","identifier":"a.test","error":"dial tcp: connection refused"}',
            '{"level":"error","logger":"tls.obtain","msg":"could not get certificate from issuer","identifier":"b.test","error":"solving challenges: context canceled"}',
            '{"level":"error","msg":"could not get certificate from issuer","identifier":"other.test","error":"x"}',
            '{"level":"info","msg":"certificate obtained successfully","identifier":"a.test"}',
            "not json",
        ].join("\n");
        expect(issuanceErrors(log, ["a.test", "b.test"])).toEqual(["a.test: could not get certificate from issuer: dial tcp: connection refused"]);
    });
});
