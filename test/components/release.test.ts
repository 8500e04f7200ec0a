import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { checkSecretEnv, parseSettings } from "../../components/config";
import { configWithDefaults, recordResources, Registered } from "./mocks";

const registered: Registered[] = [];

beforeAll(() => recordResources(registered, { extraOutputs: (type) => (type.endsWith("ReleaseGate") ? { output: "migrated 3 tables" } : {}) }));

const context = fs.mkdtempSync(path.join(os.tmpdir(), "berth-app-"));
fs.writeFileSync(path.join(context, "Dockerfile"), "FROM debian:bookworm-slim\n");
/** What this stack sets over Pulumi.yaml's defaults. */
const config = configWithDefaults({
    appContext: context, replicas: 2, restart: "always", env: { LOG_LEVEL: "info" }, testCommand: "npm test", releaseCommand: "npm run migrate",
    releaseCommandTimeoutSeconds: 300, healthTimeoutSeconds: 90, stopTimeoutSeconds: 15, keepReleases: 2,
    services: { postgres: { kind: "postgres" } }, dependsOn: ["postgres"],
});

describe("secret variables (berth:secretEnv)", () => {
    it("takes variable names, set as a secret, none also in berth:env", () => {
        expect(checkSecretEnv(["STRIPE_KEY"], {}, "secret")).toEqual(["STRIPE_KEY"]);
        expect(checkSecretEnv([], {}, "missing")).toEqual([]);
        expect(() => checkSecretEnv(["STRIPE_KEY"], {}, "plaintext")).toThrow(/berth:secretEnv = "\(hidden\)": stored in plaintext[^]*--secret --path/);
        expect(() => checkSecretEnv(["9LIVES"], {}, "secret")).toThrow(/berth:secretEnv = "9LIVES": variable names/);
        expect(() => checkSecretEnv(["LOG_LEVEL"], { LOG_LEVEL: "info" }, "secret")).toThrow(/also set in berth:env/);
    });
});

describe("the release command and secret variables in a stack", () => {
    let releaseOutput: string;

    beforeAll(async () => {
        const { Environment } = await import("../../components/environment");
        const env = new Environment("unit", {
            stack: "unit",
            settings: parseSettings(config),
            projectDir: "/",
            secret: () => pulumi.secret("pg-pw"),
            secretEnv: pulumi.secret({ STRIPE_KEY: "sk_test_123" }),
            checkEngines: async () => [],
            checkNames: async () => [],
            checkImages: async () => [],
        });
        releaseOutput = await new Promise((resolve) => env.releaseCommandOutput.apply(resolve));
        await new Promise((resolve) => env.containers.apply(resolve));
    });

    it("runs the tests, then the release command with its timeout, in the new image with the app's environment", () => {
        const steps = registered.filter((r) => r.type.endsWith("ReleaseGate"));
        expect(steps.map((s) => [s.name, s.inputs.purpose, s.inputs.command, s.inputs.timeoutSeconds])).toEqual([
            ["unit-app-tests", "release gate", "npm test", 0],
            ["unit-app-release-command", "release command", "npm run migrate", 300],
        ]);
        const [tests, release] = steps;
        expect(release.inputs.image).toBe(tests.inputs.image);
        expect(release.inputs.env).toMatchObject({ LOG_LEVEL: "info", STRIPE_KEY: "sk_test_123", DATABASE_URL: "postgres://app:pg-pw@postgres:5432/app" });
        expect(releaseOutput).toBe("migrated 3 tables");
    });

    it("gives every replica the secret variables, alongside berth:env and the services' settings", () => {
        const replicas = registered.filter((r) => r.type.endsWith("DockerContainer") && r.name.startsWith("unit-app-"));
        expect(replicas).toHaveLength(2);
        for (const replica of replicas) expect(replica.inputs.env).toMatchObject({ STRIPE_KEY: "sk_test_123", LOG_LEVEL: "info", POSTGRES_PASSWORD: "pg-pw" });
    });
});
