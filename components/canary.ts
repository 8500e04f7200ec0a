// A release that watches itself (berth:canary, berth:watchSeconds): its settings, what each host's proxy is told
// (release.conf), what its access log says of each release, and the verdict. Pure; the CanaryRelease provider runs it.
import { checkFields, ConfigError, ErrorCollector } from "./config/errors";
import { field } from "./config/fields";

/** The bounds a watched release must keep, and what to do when too few requests came to judge. */
export interface WatchBounds {
    /** Highest share of its requests that may fail (a 5xx answer, or no answer from the app). */
    maxErrorRate: number;
    /** Highest 95th percentile of its response time, in ms. */
    maxP95Ms: number;
    /** Fewest requests to the new release that allow a verdict. */
    minRequests: number;
    /** With fewer: promote anyway, or hold (fail `up`, the old release serving). */
    tooFewRequests: "promote" | "hold";
}

export interface CanarySettings extends WatchBounds {
    /** Share of requests (1-99) sent to the new release while it is watched beside the old; 0: no canary phase. */
    percent: number;
    /** How long the canary phase lasts. */
    seconds: number;
}

/** The bounds berth:canary leaves out. (No canary phase unless percent and seconds are set.) */
export const WATCH_DEFAULTS: WatchBounds = { maxErrorRate: 0.02, maxP95Ms: 1000, minRequests: 20, tooFewRequests: "hold" };
const KEYS = ["percent", "seconds", "maxErrorRate", "maxP95Ms", "minRequests", "tooFewRequests"] as const;

/**
 * `berth:canary`, every value checked, every problem at once. Without percent and seconds it only sets the bounds
 * of berth:watchSeconds.
 */
export function parseCanary(key: string, value: unknown): CanarySettings | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError(key, value, "use an object: { percent: 10, seconds: 120, maxErrorRate: 0.02, maxP95Ms: 800 }");
    const given = value as Record<string, unknown>;
    const c = new ErrorCollector();
    const errors = c.errors;
    c.take(() => checkFields(key, given, KEYS, "a canary setting"), undefined);
    const number = (name: typeof KEYS[number], min: number, max: number, integer: boolean, fallback: number): number => {
        const text = field(given, name);
        if (text === undefined) return fallback;
        // A number, or its text (`pulumi config set --path` keeps 0.05 as text).
        const v = /^\s*-?[0-9]+(\.[0-9]+)?\s*$/.test(text) ? Number(text) : NaN;
        if (v >= min && v <= max && (!integer || Number.isInteger(v))) return v;
        errors.push(new ConfigError(`${key}.${name}`, given[name], `use ${integer ? "a whole number" : "a number"} from ${min} to ${max}`));
        return fallback;
    };
    const settings: CanarySettings = {
        percent: number("percent", 1, 99, true, 0),
        seconds: number("seconds", 5, 3600, true, 0),
        maxErrorRate: number("maxErrorRate", 0, 1, false, WATCH_DEFAULTS.maxErrorRate),
        maxP95Ms: number("maxP95Ms", 1, 600_000, true, WATCH_DEFAULTS.maxP95Ms),
        minRequests: number("minRequests", 1, 1_000_000, true, WATCH_DEFAULTS.minRequests),
        tooFewRequests: WATCH_DEFAULTS.tooFewRequests,
    };
    if (given.tooFewRequests !== undefined) {
        if (given.tooFewRequests === "promote" || given.tooFewRequests === "hold") settings.tooFewRequests = given.tooFewRequests;
        else errors.push(new ConfigError(`${key}.tooFewRequests`, given.tooFewRequests, "use promote or hold"));
    }
    if ((given.percent === undefined) !== (given.seconds === undefined)) {
        const missing = given.percent === undefined ? "percent" : "seconds";
        errors.push(new ConfigError(`${key}.${missing}`, undefined, "a canary needs both percent and seconds (without either, berth:canary only sets the bounds of berth:watchSeconds)"));
    }
    c.throwIfAny();
    return settings;
}

/** One phase of a watched release: `percent` of requests to the new release for `seconds` (100: all of them). */
export interface WatchPhase {
    percent: number;
    seconds: number;
}

/** The canary phase (if configured), then the watch with all traffic on the new release (if configured). */
export function watchPhases(canary: CanarySettings | undefined, watchSeconds: number): WatchPhase[] {
    return [
        ...(canary && canary.percent > 0 ? [{ percent: canary.percent, seconds: canary.seconds }] : []),
        ...(watchSeconds > 0 ? [{ percent: 100, seconds: watchSeconds }] : []),
    ];
}

/** New-release containers on a host with `replicas` of the release: its share of them (at least one), or all for 100%. */
export function canaryReplicas(percent: number, replicas: number): number {
    return Math.max(1, Math.round((replicas * percent) / 100));
}

/** The two upstream groups of berth's proxy: the replicas in state, and the new release's containers beside them. */
export const RELEASES = ["app", "canary"] as const;
export type Release = (typeof RELEASES)[number];

/** The cookie that keeps a client on the release that answered it first, while a canary runs. */
export const PIN_COOKIE = "berth_release";

/**
 * release.conf (an http-level include of berth's proxy): which group each request goes to ($berth_release), the
 * pin cookie the answer carries ($berth_pin, empty: none) and whether it is logged ($berth_watching). No phase: all
 * to the replicas, nothing logged. A canary: a client with the pin cookie keeps its release, others are split by
 * request id. The watch: all to the new release.
 */
export function releaseConfig(phase: WatchPhase | undefined): string {
    const constant = (variable: string, value: string) => `map $host ${variable} {\n    default ${value};\n}`;
    if (!phase) return [constant("$berth_release", "app"), constant("$berth_pin", '""'), constant("$berth_watching", "0"), ""].join("\n");
    if (phase.percent >= 100) return [constant("$berth_release", "canary"), constant("$berth_pin", '""'), constant("$berth_watching", "1"), ""].join("\n");
    return [
        `split_clients "$request_id" $berth_split {`,
        `    ${phase.percent}% canary;`,
        `    * app;`,
        `}`,
        `map $cookie_${PIN_COOKIE} $berth_release {`,
        ...RELEASES.map((release) => `    ${release} ${release};`),
        `    default $berth_split;`,
        `}`,
        `map $berth_release $berth_pin {`,
        `    default "${PIN_COOKIE}=$berth_release; Path=/; Max-Age=${phase.seconds}; HttpOnly; SameSite=Lax";`,
        `}`,
        constant("$berth_watching", "1"),
        "",
    ].join("\n");
}

export interface ReleaseFigures {
    requests: number;
    errors: number;
    /** Response times in ms, sorted. */
    latenciesMs: number[];
}

/** Each release's figures from the proxy's release log (`$berth_release $status $request_time`, nginx.conf); other lines are skipped. */
export function releaseFigures(log: string): Record<Release, ReleaseFigures> {
    const figures = { app: { requests: 0, errors: 0, latenciesMs: [] as number[] }, canary: { requests: 0, errors: 0, latenciesMs: [] as number[] } };
    for (const line of log.split("\n")) {
        const match = /^(app|canary) (\d{3}) ([\d.]+)$/.exec(line.trim());
        if (!match) continue;
        const release = figures[match[1] as Release];
        release.requests++;
        // What the client got: the app's 5xx, or the proxy's 502/504 when no replica of that release answered.
        if (Number(match[2]) >= 500) release.errors++;
        release.latenciesMs.push(Math.round(Number(match[3]) * 1000));
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
    /** Old against new. */
    figures: string;
}

const rate = (f: ReleaseFigures) => (f.requests === 0 ? 0 : f.errors / f.requests);
const percent = (r: number) => `${(r * 100).toFixed(1)}%`;

/** `old: 900 requests, 0 errors (0.0%), p95 20 ms` */
export function describeFigures(name: string, f: ReleaseFigures): string {
    return `${name}: ${f.requests} requests, ${f.errors} errors (${percent(rate(f))}), p95 ${p95(f.latenciesMs)} ms`;
}

/**
 * Promote when the new release's error rate and p95 are within bounds, or no worse than the old release's over the
 * same window (a bad minute for everyone does not blame the new one). `old` is undefined when the old release had no
 * traffic to compare (a watch after the switch with no canary before it): the bounds alone decide. Too few requests to
 * judge follow the setting.
 */
export function verdict(old: ReleaseFigures | undefined, canary: ReleaseFigures, bounds: WatchBounds): Verdict {
    const figures = [...(old ? [describeFigures("old", old)] : []), describeFigures("new", canary)].join("; ");
    if (canary.requests < bounds.minRequests) {
        const reason = `too few requests to judge (${canary.requests} < ${bounds.minRequests})`;
        return bounds.tooFewRequests === "promote"
            ? { promote: true, reasons: [], figures: `${figures}; ${reason}: promoted (berth:canary.tooFewRequests is promote)` }
            : { promote: false, reasons: [`${reason}; berth:canary.tooFewRequests is hold (promote releases anyway)`], figures };
    }
    const reasons: string[] = [];
    if (rate(canary) > bounds.maxErrorRate && (!old || rate(canary) > rate(old))) {
        reasons.push(`error rate ${percent(rate(canary))} > ${percent(bounds.maxErrorRate)}${old ? ` (old: ${percent(rate(old))})` : ""}`);
    }
    const slow = p95(canary.latenciesMs);
    if (slow > bounds.maxP95Ms && (!old || slow > p95(old.latenciesMs))) {
        reasons.push(`p95 ${slow} ms > ${bounds.maxP95Ms} ms${old ? ` (old: ${p95(old.latenciesMs)} ms)` : ""}`);
    }
    return { promote: reasons.length === 0, reasons, figures };
}
