import { describe, expect, it } from "vitest";
import { buildArgs, buildCacheReference, buildCacheSource, DockerImageInputs } from "../../../components/docker/providers/image";

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

describe("docker build arguments", () => {
    it("tag, label, build args, target and cache source", () => {
        const args = buildArgs(inputs, buildCacheReference(inputs.repository));
        expect(args.slice(0, 6)).toEqual(["build", "--force-rm", "--file", "/src/app/Dockerfile", "--tag", "127.0.0.1:5000/shop/main:0123456789ab"]);
        expect(args).toContain(`berth.context-hash=${"f".repeat(64)}`);
        expect(args).toContain("berth.version=0123456789ab");
        expect(args).toContain("berth.built-by=staging");
        expect(args.filter((_, i) => args[i - 1] === "--build-arg")).toEqual([
            "APP_VERSION=0123456789ab", "EXTRA_CA_CERTS=-----BEGIN CERTIFICATE-----", "NODE_ENV=production",
        ]);
        expect(args[args.indexOf("--target") + 1]).toBe("runtime");
        expect(args[args.indexOf("--cache-from") + 1]).toBe("127.0.0.1:5000/shop/main:buildcache");
        expect(args.at(-1)).toBe("/src/app");
    });

    it("build with the local cache alone when the registry has none yet", () => {
        expect(buildArgs({ ...inputs, target: "" }, undefined)).not.toContain("--cache-from");
        expect(buildArgs({ ...inputs, target: "" }, undefined)).not.toContain("--target");
    });

    it("names the build cache only when it was pulled: one built here is in the engine's local cache already", () => {
        const cache = buildCacheReference(inputs.repository);
        expect(buildCacheSource(cache, { Parent: "" })).toBe(cache);
        expect(buildCacheSource(cache, {})).toBe(cache);
        expect(buildCacheSource(cache, { Parent: "sha256:0a1b" })).toBeUndefined();
        expect(buildCacheSource(cache, undefined)).toBeUndefined();
    });
});
