// Waiting for a new container to be healthy (or, without a healthcheck, to stay up): probes spread over an engine's capacity, failures explained.
import * as net from "net";
import { DockerHost, execIn, inspect } from "./cli";
import { DockerContainerInputs } from "./commands/container";
import { engineFacts } from "./engineFacts";

/**
 * The command that runs a container's healthcheck (`Config.Healthcheck.Test`) once inside it, or undefined when it
 * has none. berth probes with it itself because the engine runs the first check only after a full interval (and
 * engines before API 1.44 have no faster start interval): polling the same command is the same verdict, seconds
 * earlier.
 */
export function healthProbeCommand(test: string[] | undefined): string[] | undefined {
    const [kind, ...rest] = test ?? [];
    if (kind === "CMD" && rest.length > 0) return rest;
    if (kind === "CMD-SHELL" && rest.length > 0) return ["/bin/sh", "-c", rest.join(" ")];
    return undefined; // no test, or NONE
}

export const PROBE_PAUSE_MS = 250;

export const PORT_PAUSE_MS = 50;

export const PROBE_ANYWAY_MS = 2000;

/**
 * Health probes in flight at once on an engine with `cores` cores: one per two. Each starts a process inside a
 * container that is booting (the sample app's `node healthcheck.js` takes ~0.5 s of a core), so more at once slow
 * the very boots they wait for: two replicas probed together on two cores were healthy after 2.2 s (median of 6),
 * one probe at a time 1.7 s; twenty at once (a stack's first `up`) slowed every start until the engine failed them.
 */
export function probesPerEngine(cores: number): number {
    return Math.max(1, Math.floor(cores / 2));
}

export const probeSlots = new Map<DockerHost, { running: number; waiting: (() => void)[] }>();

export async function withProbeSlot<T>(host: DockerHost, run: () => Promise<T>): Promise<T> {
    const limit = probesPerEngine(Number((await engineFacts(host)).NCPU) || 1);
    const slots = probeSlots.get(host) ?? { running: 0, waiting: [] };
    probeSlots.set(host, slots);
    if (slots.running >= limit) await new Promise<void>((resolve) => slots.waiting.push(resolve));
    else slots.running++;
    try {
        return await run();
    } finally {
        // The slot passes straight to the next waiting probe, if any.
        const next = slots.waiting.shift();
        if (next) next();
        else slots.running--;
    }
}

/**
 * Whether the container's `port` certainly refuses connections: its address reached from here, nothing listening.
 * Only a local engine's containers are reachable from here; for any other, or without an answer (an engine in a VM),
 * it is not certain, and the healthcheck runs as it would without this test.
 */
export function portRefused(host: DockerHost, container: any, port: number): Promise<boolean> {
    const address = Object.values<{ IPAddress?: string }>(container.NetworkSettings?.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
    if ((host !== "" && !host.startsWith("unix://")) || !address) return Promise.resolve(false);
    return new Promise((resolve) => {
        const socket = net.connect({ host: address, port, timeout: 1000 });
        const answer = (refused: boolean) => {
            socket.destroy();
            resolve(refused);
        };
        socket.once("connect", () => answer(false));
        socket.once("timeout", () => answer(false));
        socket.once("error", (err: NodeJS.ErrnoException) => answer(err.code === "ECONNREFUSED"));
    });
}

/** True once the container's own healthcheck passes, run by berth or by the engine. */
export async function probeHealthy(host: DockerHost, container: any): Promise<boolean> {
    if (container.State?.Health?.Status === "healthy") return true;
    const probe = healthProbeCommand(container.Config?.Healthcheck?.Test);
    if (!probe) return false;
    const timeoutNs: number = container.Config.Healthcheck.Timeout || 30e9;
    // Not running (any more), or the engine refused: not healthy yet; the caller looks at the state again.
    const name = container.Name.replace(/^\//, "");
    return (await withProbeSlot(host, () => execIn(host, name, probe, timeoutNs / 1e6)).catch(() => undefined)) === 0;
}

/** What the shell's exit codes for a command that never ran mean (the message then says why, not just a number). */
export function exitMeaning(code: number | undefined): string {
    if (code === 127) return ": the shell found no such command (a typo, or a program missing from the image)";
    if (code === 126) return ": the command is not executable (its file mode, or a directory)";
    return "";
}

/** A container without a healthcheck is taken as healthy once it has run `seconds` without exiting or restarting. */
export async function waitUntilUpFor(host: DockerHost, name: string, seconds: number): Promise<void> {
    for (;;) {
        const state = (await inspect(host, "container", name))?.State;
        if (!state?.Running || state.Restarting || (state.RestartCount ?? 0) > 0) {
            throw new Error(`container ${name} did not stay up for ${seconds}s (exit code ${state?.ExitCode ?? "unknown"}${exitMeaning(state?.ExitCode)})`);
        }
        if (Date.now() - Date.parse(state.StartedAt) >= seconds * 1000) return;
        await new Promise((resolve) => setTimeout(resolve, PROBE_PAUSE_MS));
    }
}

export type HealthGate = Pick<DockerContainerInputs, "host" | "healthTimeoutSeconds" | "requireHealthcheck" | "upSeconds" | "listenPort">;

export async function waitUntilHealthy(inputs: HealthGate, name: string): Promise<void> {
    const { host, healthTimeoutSeconds: timeoutSeconds, requireHealthcheck, upSeconds = 0, listenPort } = inputs;
    const deadline = Date.now() + timeoutSeconds * 1000;
    let probedAt = Date.now();
    for (;;) {
        const container = await inspect(host, "container", name);
        const state = container?.State;
        const health: string | undefined = state?.Health?.Status;
        if (state && !state.Running && !state.Restarting) {
            throw new Error(`container ${name} exited with code ${state.ExitCode}${exitMeaning(state.ExitCode)} before becoming healthy`);
        }
        if (state?.Running && health === undefined) {
            if (requireHealthcheck) {
                throw new Error(`container ${name} has no healthcheck: its image declares no HEALTHCHECK and none was configured (set berth:healthcheck)`);
            }
            // No healthcheck at all: staying up is the best signal there is.
            return upSeconds > 0 ? waitUntilUpFor(host, name, upSeconds) : undefined;
        }
        if (health === "unhealthy") {
            throw new Error(`container ${name} reported unhealthy`);
        }
        // A port still closed is asked again sooner: that costs a connection attempt, a healthcheck costs a process.
        // The healthcheck still runs every PROBE_ANYWAY_MS (what refused may have been a firewall, not the app).
        const closed = state?.Running && listenPort !== undefined && Date.now() - probedAt < PROBE_ANYWAY_MS
            && (await portRefused(host, container, listenPort));
        if (state?.Running && !closed) {
            probedAt = Date.now();
            if (await probeHealthy(host, container)) return;
        }
        if (Date.now() > deadline) {
            throw new Error(`container ${name} was not healthy within ${timeoutSeconds}s (status: ${health})`);
        }
        await new Promise((resolve) => setTimeout(resolve, closed ? PORT_PAUSE_MS : PROBE_PAUSE_MS));
    }
}
