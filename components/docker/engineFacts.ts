// What berth asks each engine once per run (CPUs, default log driver): cached per host.
import { DockerHost, engineInfo } from "./cli";

export const engineFactsByHost = new Map<DockerHost, Promise<any>>();

/** The engine's `docker info`, asked once per engine and run: what berth reads of it does not change during a run. */
export function engineFacts(host: DockerHost): Promise<any> {
    if (!engineFactsByHost.has(host)) {
        const facts = engineInfo(host);
        facts.catch(() => engineFactsByHost.delete(host)); // a failed answer is asked again, not kept for the run
        engineFactsByHost.set(host, facts);
    }
    return engineFactsByHost.get(host)!;
}

/** The log driver an engine gives containers that name none. */
export async function engineLogDriver(host: DockerHost): Promise<string> {
    return String((await engineFacts(host)).LoggingDriver);
}
