// WIP (issue 30): the pure parts of a release that watches itself — its settings, the proxy's split, the access
// log's figures and the verdict. Not wired yet; the design is in the closing note of 2026-12-04 (6):
// a CanaryRelease resource (like ReleaseGate) runs before any replica changes: it starts canary containers of the new
// image beside the running release, has each host's proxy send them `percent` of requests (a user pinned by cookie),
// reads the proxies' access logs for `seconds`, then restores the routes and removes the canaries; a bad verdict
// fails `up` there, with nothing replaced (no pending delete for the next run to act on).
import { ConfigError, ConfigErrors } from "./config/errors";

export interface CanarySettings {
    /** Share of requests (1-99) sent to the new release while it is watched. */
    percent: number;
    /** How long it is watched. */
    seconds: number;
    /** Highest share of its requests that may fail (5xx, or no answer from the app). */
    maxErrorRate: number;
    /** Highest 95th percentile of its response time. */
    maxP95Ms: number;
    /** Fewest requests to the new release that allow a verdict. */
    minRequests: number;
    /** With fewer: promote anyway, or hold (fail `up`, the old release serving). */
    tooFewRequests: "promote" | "hold";
}

export const CANARY_DEFAULTS: Omit<CanarySettings, "percent" | "seconds" | "maxErrorRate" | "maxP95Ms"> = { minRequests: 20, tooFewRequests: "hold" };
const KEYS = ["percent", "seconds", "maxErrorRate", "maxP95Ms", "minRequests", "tooFewRequests"] as const;

/** `berth:canary`, every value checked, every problem at once. */
export function parseCanary(key: string, value: unknown): CanarySettings | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError(key, value, "use an object: { percent: 10, seconds: 120, maxErrorRate: 0.02, maxP95Ms: 800 }");
    const given = value as Record<string, unknown>;
    const errors: ConfigError[] = Object.keys(given).filter((k) => !(KEYS as readonly string[]).includes(k))
        .map((k) => new ConfigError(`${key}.${k}`, given[k], `not a canary setting; use ${KEYS.join(", ")}`));
    const number = (name: typeof KEYS[number], min: number, max: number, integer: boolean): number => {
        const v = given[name];
        if (typeof v === "number" && v >= min && v <= max && (!integer || Number.isInteger(v))) return v;
        errors.push(new ConfigError(`${key}.${name}`, v, `use ${integer ? "a whole number" : "a number"} from ${min} to ${max}`));
        return min;
    };
    const settings: CanarySettings = {
        percent: number("percent", 1, 99, true),
        seconds: number("seconds", 10, 3600, true),
        maxErrorRate: number("maxErrorRate", 0, 1, false),
        maxP95Ms: number("maxP95Ms", 1, 600_000, true),
        minRequests: given.minRequests === undefined ? CANARY_DEFAULTS.minRequests : number("minRequests", 1, 1_000_000, true),
        tooFewRequests: CANARY_DEFAULTS.tooFewRequests,
    };
    if (given.tooFewRequests !== undefined) {
        if (given.tooFewRequests === "promote" || given.tooFewRequests === "hold") settings.tooFewRequests = given.tooFewRequests;
        else errors.push(new ConfigError(`${key}.tooFewRequests`, given.tooFewRequests, "use promote or hold"));
    }
    if (errors.length > 0) throw new ConfigErrors(errors);
    return settings;
}

/** Canary containers on a host with `replicas` of the release: the share of them, at least one. */
export function canaryReplicas(percent: number, replicas: number): number {
    return Math.max(1, Math.round((replicas * percent) / 100));
}

/** The access log line the proxy writes while a canary runs: the release that answered, status, upstream status, seconds. */
export const CANARY_LOG_FORMAT = "$berth_release $status $upstream_status $request_time";

/**
 * The proxy's split (nginx, an http-level include): a request with the pin cookie keeps its release; others are split
 * by request id; the release is the name of an upstream group (`stable`, `canary`) and goes into the log.
 */
export function splitConfig(percent: number, cookie = "berth_release"): string {
    return [
        `split_clients "$request_id" $berth_split {`,
        `    ${percent}% canary;`,
        `    * stable;`,
        `}`,
        `map $cookie_${cookie} $berth_release {`,
        `    canary canary;`,
        `    stable stable;`,
        `    default $berth_split;`,
        `}`,
        `log_format berth_canary '${CANARY_LOG_FORMAT}';`,
        "",
    ].join("\n");
}

export interface ReleaseFigures {
    requests: number;
    errors: number;
    /** Response times in ms, sorted. */
    latenciesMs: number[];
}

/** An answer that counts as the release failing: a 5xx, or no answer from the app (nginx's 502/504 on upstream failure). */
function failed(status: number, upstreamStatus: string): boolean {
    return status >= 500 || upstreamStatus === "-" || /\b5\d\d\b/.test(upstreamStatus);
}

/** The access log (CANARY_LOG_FORMAT) → each release's figures; lines of another shape are skipped. */
export function releaseFigures(log: string): Record<"stable" | "canary", ReleaseFigures> {
    const figures = { stable: { requests: 0, errors: 0, latenciesMs: [] as number[] }, canary: { requests: 0, errors: 0, latenciesMs: [] as number[] } };
    for (const line of log.split("\n")) {
        const match = /^(stable|canary) (\d{3}) (\S+) ([\d.]+)$/.exec(line.trim());
        if (!match) continue;
        const release = figures[match[1] as "stable" | "canary"];
        release.requests++;
        if (failed(Number(match[2]), match[3])) release.errors++;
        release.latenciesMs.push(Math.round(Number(match[4]) * 1000));
    }
    for (const release of Object.values(figures)) release.latenciesMs.sort((a, b) => a - b);
    return figures;
}

/** Figures of several hosts' proxies as one: the decision is over all of them. */
export function combined(all: ReleaseFigures[]): ReleaseFigures {
    return { requests: all.reduce((n, f) => n + f.requests, 0), errors: all.reduce((n, f) => n + f.errors, 0), latenciesMs: all.flatMap((f) => f.latenciesMs).sort((a, b) => a - b) };
}

export function p95(sortedMs: number[]): number {
    return sortedMs.length === 0 ? 0 : sortedMs[Math.min(sortedMs.length - 1, Math.ceil(sortedMs.length * 0.95) - 1)];
}

export interface Verdict {
    promote: boolean;
    /** What tripped it (empty when promoted on its figures). */
    reasons: string[];
    /** Old against new, over the same window. */
    figures: string;
}

/**
 * Promote when the new release's error rate and p95 are within bounds — or no worse than the old release's over the
 * same window (a bad minute for everyone does not blame the new one); too few requests to judge follow the setting.
 */
export function verdict(stable: ReleaseFigures, canary: ReleaseFigures, settings: CanarySettings): Verdict {
    const rate = (f: ReleaseFigures) => (f.requests === 0 ? 0 : f.errors / f.requests);
    const describe = (name: string, f: ReleaseFigures) => `${name}: ${f.requests} requests, ${f.errors} errors (${(rate(f) * 100).toFixed(1)}%), p95 ${p95(f.latenciesMs)} ms`;
    const figures = `${describe("old", stable)}; ${describe("new", canary)}`;
    if (canary.requests < settings.minRequests) {
        const reason = `too few requests to judge (${canary.requests} < ${settings.minRequests})`;
        return settings.tooFewRequests === "promote" ? { promote: true, reasons: [], figures: `${figures}; ${reason}: promoted as configured` } : { promote: false, reasons: [reason], figures };
    }
    const reasons: string[] = [];
    if (rate(canary) > settings.maxErrorRate && rate(canary) > rate(stable)) {
        reasons.push(`error rate ${(rate(canary) * 100).toFixed(1)}% > ${(settings.maxErrorRate * 100).toFixed(1)}% (old: ${(rate(stable) * 100).toFixed(1)}%)`);
    }
    if (p95(canary.latenciesMs) > settings.maxP95Ms && p95(canary.latenciesMs) > p95(stable.latenciesMs)) {
        reasons.push(`p95 ${p95(canary.latenciesMs)} ms > ${settings.maxP95Ms} ms (old: ${p95(stable.latenciesMs)} ms)`);
    }
    return { promote: reasons.length === 0, reasons, figures };
}
