// How config is refused: a ConfigError names the key, the value and what is allowed; all of a stack's at once; unknown keys with the closest known one.
import * as pulumi from "@pulumi/pulumi";
import { distance as editDistance } from "fastest-levenshtein";

/** A user's mistake, not a crash: Pulumi prints a RunError as its message, without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly key: string, readonly value: unknown, allowed: string) {
        super(`invalid config berth:${key} = ${describeValue(value)}: ${allowed}`);
        this.name = "ConfigError";
    }
}

/**
 * A config value as errors print it: text, numbers and lists of them as they are; an object by its keys only
 * (`{ kind, env }`), never its nested values, which may hold a password.
 */
export function describeValue(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map((item) => (typeof item === "object" && item !== null ? describeValue(item) : JSON.stringify(item))).join(",")}]`;
    if (typeof value === "object" && value !== null) return `{ ${Object.keys(value).join(", ")} }`;
    return JSON.stringify(value) ?? String(value);
}

/**
 * Refuses fields an object setting does not have (a typo is silently ignored otherwise), each with the closest known
 * one; every unknown field at once.
 */
export function checkFields(key: string, value: Record<string, unknown>, known: readonly string[], what: string): void {
    const errors = Object.keys(value).filter((name) => !known.includes(name)).map((name) => {
        const closest = closestName(name, known);
        return new ConfigError(`${key}.${name}`, value[name], `not ${what}: use ${known.join(", ")}${closest ? ` (did you mean ${closest}?)` : ""}`);
    });
    if (errors.length > 0) throw new ConfigErrors(errors);
}

/** Every error a stack's config has, reported together (Pulumi prints a RunError as its message, without a trace). */
export class ConfigErrors extends ConfigError {
    constructor(readonly errors: ConfigError[]) {
        super(errors[0].key, errors[0].value, "");
        this.message = errors.map((e) => e.message).join("\n");
        this.name = "ConfigErrors";
    }
}

/** Collects ConfigErrors instead of stopping at the first, so one run names every problem of a config. */
export class ErrorCollector {
    readonly errors: ConfigError[] = [];

    /** `parse()`, or `fallback` (recording the error) when it throws a ConfigError. */
    take<T>(parse: () => T, fallback: T): T {
        try {
            return parse();
        } catch (err) {
            if (err instanceof ConfigErrors) this.errors.push(...err.errors);
            else if (err instanceof ConfigError) this.errors.push(err);
            else throw err;
            return fallback;
        }
    }

    throwIfAny(): void {
        if (this.errors.length > 0) throw new ConfigErrors(this.errors);
    }
}

/** The known name closest to `name` (case aside), when it is close enough to be the one meant. */
export function closestName(name: string, known: readonly string[]): string | undefined {
    const distance = (candidate: string) => editDistance(name.toLowerCase(), candidate.toLowerCase());
    const closest = [...known].sort((a, b) => distance(a) - distance(b))[0];
    return closest !== undefined && distance(closest) <= Math.max(2, Math.floor(name.length / 3)) ? closest : undefined;
}
