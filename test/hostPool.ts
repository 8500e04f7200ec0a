/**
 * vitest global setup: the test hosts (scripts/hosts.sh) are one pool for the whole run, started by the first
 * test that needs them (harness testHosts) and removed once every file has run, so no engine outlives `npm test`.
 */
import { execFileSync } from "child_process";
import * as path from "path";

export default function setup(): () => void {
    return () => {
        const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
        if (/^berth-/m.test(namespaces)) {
            execFileSync("bash", [path.join(__dirname, "..", "scripts", "hosts.sh"), "down"], { stdio: "inherit" });
        }
    };
}
