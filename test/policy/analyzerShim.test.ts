import { spawn } from "child_process";
import * as path from "path";
import { describe, expect, it } from "vitest";

const policyDir = path.resolve(__dirname, "../../policy");

/** Starts the `pulumi-analyzer-policy` next to the CLI the way the engine does: in the pack's directory. */
function startShim(cwd: string): Promise<{ firstLine: string; stderr: string; code: number | null }> {
    return new Promise((resolve, reject) => {
        const child = spawn("pulumi-analyzer-policy", ["127.0.0.1:1", "."], { cwd });
        let stdout = "";
        let stderr = "";
        const timer = setTimeout(() => { child.kill(); reject(new Error(`no port within 60s; stderr: ${stderr}`)); }, 60_000);
        child.on("error", (err) => { clearTimeout(timer); reject(new Error(`pulumi-analyzer-policy is not on PATH (run it through npm test): ${err.message}`)); });
        child.stdout.on("data", (chunk) => {
            stdout += chunk;
            if (stdout.includes("\n")) { clearTimeout(timer); child.kill(); resolve({ firstLine: stdout.split("\n")[0], stderr, code: null }); }
        });
        child.stderr.on("data", (chunk) => (stderr += chunk));
        child.on("exit", (code) => { clearTimeout(timer); resolve({ firstLine: stdout.split("\n")[0], stderr, code }); });
    });
}

describe("the pulumi-analyzer-policy shim setup installs next to the CLI", () => {
    it("starts berth's policy pack and prints the port of its analyzer", async () => {
        const { firstLine } = await startShim(policyDir);
        expect(firstLine).toMatch(/^\d{2,5}$/);
    });

    it("says what to do where the pack's dependencies are missing", async () => {
        const { code, stderr } = await startShim("/");
        expect(code).not.toBe(0);
        expect(stderr).toContain("@pulumi/pulumi is not installed for the policy pack in /: run npm install");
    });
});
