// Every config key's default lives in Pulumi.yaml's config schema, the one place users read them and the engine
// applies them. Code reads them from there (tests, scripts), never from a copy; parseSettings falls back only where
// the default is "none" ("", {}, []), and a test holds every fallback to Pulumi.yaml.
import * as fs from "fs";
import * as path from "path";
import type { ConfigSource } from "./types";

export const PULUMI_YAML = path.join(__dirname, "..", "..", "Pulumi.yaml");

/** Pulumi.yaml's `config` defaults (keys without `berth:`). */
export function schemaDefaults(file = PULUMI_YAML): Record<string, unknown> {
    // js-yaml is loaded only here: the program never needs it (the engine applies the defaults itself).
    const yaml = require("js-yaml") as typeof import("js-yaml");
    const schema = (yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, { default?: unknown }> }).config;
    return Object.fromEntries(Object.entries(schema).filter(([, spec]) => spec.default !== undefined).map(([key, spec]) => [key, spec.default]));
}

/** Config as the engine hands it to the program: `overrides` over Pulumi.yaml's defaults, objects as JSON text. */
export function configWithDefaults(overrides: Record<string, unknown> = {}, file = PULUMI_YAML): ConfigSource {
    const defaults = schemaDefaults(file);
    return (key) => {
        const value = key in overrides ? overrides[key] : defaults[key];
        if (value === undefined) return undefined;
        return typeof value === "object" ? JSON.stringify(value) : String(value);
    };
}
