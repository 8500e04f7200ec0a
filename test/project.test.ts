import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { knownKeys, parseSettings, SECRET_KEYS } from "../components/config";
import { configWithDefaults } from "./components/mocks";
import { configReference, REFERENCE } from "../scripts/configReference";

const root = path.resolve(__dirname, "..");
const load = (file: string) => yaml.load(fs.readFileSync(path.join(root, file), "utf8")) as any;
const schema: Record<string, { type: string; description: string; default?: unknown; secret?: boolean }> = load("Pulumi.yaml").config;

/** What the engine hands the program for a stack file: its values over the schema's defaults. */
function stackConfig(stackFile: string): (key: string) => string | undefined {
    const values = (load(stackFile).config ?? {}) as Record<string, unknown>;
    return configWithDefaults(Object.fromEntries(Object.entries(values).map(([key, value]) => [key.replace(/^berth:/, ""), value])));
}

describe("Pulumi.yaml's config schema", () => {
    it("gives every key a type and a description, and every non-secret key a default", () => {
        for (const [key, entry] of Object.entries(schema)) {
            expect(entry.type, key).toMatch(/^(string|integer|boolean|array|object)$/);
            expect(entry.description, key).toBeTruthy();
            if (!entry.secret) expect(entry.default, key).toBeDefined();
        }
    });

    it("declares exactly the keys berth reads (secrets apart: they are required only where they apply)", () => {
        // secretEnv is declared (its names are plain, its values secrets); the others are secrets whole.
        const secrets: string[] = SECRET_KEYS.filter((key) => key !== "secretEnv");
        expect(Object.keys(schema).sort()).toEqual(knownKeys.filter((key) => !secrets.includes(key)).sort());
    });

    it.each(["Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.production.yaml"])("%s is valid config", (file) => {
        const settings = parseSettings(stackConfig(file));
        for (const [key, value] of Object.entries(load(file).config ?? {})) {
            // Secrets (`secure:` values, e.g. those `npm start` writes into the dev stack) are not in the schema.
            if ((value as { secure?: string })?.secure) continue;
            expect(schema, `${file}: ${key} is not in Pulumi.yaml`).toHaveProperty(key.replace(/^berth:/, ""));
        }
        expect(settings.app.name).toBe("shop");
    });

    it("production deploys a digest, not a build", () => {
        expect(parseSettings(stackConfig("Pulumi.production.yaml")).app.source).toMatchObject({ kind: "image", reference: expect.stringMatching(/@sha256:[0-9a-f]{64}$/) });
    });
});

describe("the configuration reference", () => {
    it("is docs/configuration.md as npm run docs writes it from Pulumi.yaml (run it after changing the schema)", () => {
        const root = path.resolve(__dirname, "..");
        expect(fs.readFileSync(REFERENCE, "utf8")).toBe(configReference(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")));
    });

    it("lists every key berth reads, secrets apart", () => {
        const text = fs.readFileSync(REFERENCE, "utf8");
        for (const key of knownKeys) expect(text, key).toContain(`\`berth:${key}\``);
    });
});
