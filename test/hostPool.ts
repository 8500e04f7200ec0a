/**
 * vitest global setup: the test hosts (scripts/hosts.sh) are one pool for the whole run, started by the first
 * test that needs them (harness testHosts) and removed once every file has run — only by the run that used them,
 * so a unit-test run beside a bench or another run leaves their hosts alone.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { testHostsDir } from "../components/cacheLayout";

/** Written by harness testHosts: the id of the test run that last used the pool. */
export const POOL_USER_FILE = path.join(testHostsDir(), "used-by-test-run");

export default function setup(): () => void {
    const run = crypto.randomBytes(6).toString("hex");
    process.env.BERTH_TEST_RUN = run; // inherited by the test workers
    return () => {
        const user = fs.existsSync(POOL_USER_FILE) ? fs.readFileSync(POOL_USER_FILE, "utf8") : "";
        if (user === run) {
            execFileSync("bash", [path.join(__dirname, "..", "scripts", "hosts.sh"), "down"], { stdio: "inherit" });
            fs.rmSync(POOL_USER_FILE, { force: true });
        }
    };
}
