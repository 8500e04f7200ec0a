// Where berth keeps what outlives a clone (toolchain, registry data, test hosts, logs): BERTH_CACHE, else
// $XDG_CACHE_HOME/berth, else ~/.cache/berth. scripts/lib.sh computes the same for the shell scripts (a test
// holds the two to each other).
import * as os from "os";
import * as path from "path";

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
    return env.BERTH_CACHE || path.join(env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache"), "berth");
}

/** The test hosts' directory (scripts/hosts.sh): one directory per host, the registry's, environment.json. */
export function testHostsDir(env: NodeJS.ProcessEnv = process.env): string {
    return path.join(cacheDir(env), "hosts");
}

/** The logs of the engine and registry setup started. */
export function logsDir(env: NodeJS.ProcessEnv = process.env): string {
    return path.join(cacheDir(env), "logs");
}
