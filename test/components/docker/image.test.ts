import { describe, expect, it } from "vitest";
import { buildArgs, buildCacheSource, DockerImageInputs, provider } from "../../../components/docker/providers/image";

const inputs: DockerImageInputs = {
    host: "",
    context: "/src/app",
    dockerfile: "Dockerfile",
    target: "runtime",
    buildArgs: { APP_VERSION: "0123456789ab", NODE_ENV: "production" },
    buildEnvironment: { EXTRA_CA_CERTS: "-----BEGIN CERTIFICATE-----" },
    contextHash: "f".repeat(64),
    labels: { "berth.built-by": "staging" },
    repository: "127.0.0.1:5000/shop/main",
    tag: "0123456789ab",
};

const previous = "127.0.0.1:5000/shop/main@sha256:" + "0".repeat(64);

describe("docker build arguments", () => {
    it("tag, label, build args, target and cache source: exactly this command, no flag missing, stray or twice", () => {
        expect(buildArgs(inputs, previous)).toEqual([
            "build", "--force-rm", "--file", "/src/app/Dockerfile", "--tag", "127.0.0.1:5000/shop/main:0123456789ab",
            // One legacy-builder step per label: the two something reads (pruning, promotion), no more.
            "--label", "berth.built-by=staging", "--label", "berth.version=0123456789ab",
            "--build-arg", "APP_VERSION=0123456789ab", "--build-arg", "EXTRA_CA_CERTS=-----BEGIN CERTIFICATE-----", "--build-arg", "NODE_ENV=production",
            "--target", "runtime", "--cache-from", previous, "/src/app",
        ]);
    });

    it("build with the local cache alone when there is no previous release to pull", () => {
        expect(buildArgs({ ...inputs, target: "" }, undefined)).not.toContain("--cache-from");
        expect(buildArgs({ ...inputs, target: "" }, undefined)).not.toContain("--target");
    });

    it("names the previous release only when it was pulled: one built here is in the engine's local cache already", () => {
        expect(buildCacheSource(previous, { Parent: "" })).toBe(previous);
        expect(buildCacheSource(previous, {})).toBe(previous);
        expect(buildCacheSource(previous, { Parent: "sha256:0a1b" })).toBeUndefined();
        expect(buildCacheSource(previous, undefined)).toBeUndefined();
    });
});

describe("the image's diff", () => {
    it("rebuilds when the context's files change, not when the same files are in another checkout", async () => {
        const recorded = { ...inputs, registryServer: "" }; // as state keeps it
        const moved = { ...inputs, context: "/home/teammate/berth/app" };
        expect(await provider.diff!("id", recorded, moved)).toEqual({ changes: false });
        expect(await provider.diff!("id", recorded, { ...moved, contextHash: "e".repeat(64) })).toEqual({ changes: true });
    });
});
