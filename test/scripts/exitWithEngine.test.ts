import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";

const tool = path.join(__dirname, "..", "..", "tools", "exit-with-engine.js");

/** Processes whose command line holds `marker` and that still run (a zombie has ended). */
function running(marker: string): number[] {
    return fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).filter((pid) => {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z" && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker);
        } catch {
            return false;
        }
    }).map(Number);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("tools/exit-with-engine.js", () => {
    it("a plugin ends with the engine that started it, and takes what it started with it (children and theirs)", async () => {
        // Each process of this run is told by a duration of its own, e.g. `sleep 300.4821`.
        const marker = (300 + Math.random()).toFixed(4);
        const plugin = `
            const { spawn } = require("child_process");
            spawn("sleep", ["${marker}"]);
            spawn("sh", ["-c", "sleep ${marker}; echo ended"]);
            setInterval(() => undefined, 1000);`;
        const engine = spawn(process.execPath, ["-e", `
            require("child_process").spawn(process.execPath, ["--require", ${JSON.stringify(tool)}, "-e", ${JSON.stringify(plugin)}, "${marker}"], { stdio: "ignore" });
            setInterval(() => undefined, 1000);`], { stdio: "ignore" });
        try {
            // The engine, the plugin, its sleep, the shell and the shell's sleep.
            for (let waited = 0; running(marker).length < 5 && waited < 10_000; waited += 100) await pause(100);
            expect(running(marker)).toHaveLength(5);
            // While the engine runs, so does the plugin.
            await pause(1500);
            expect(running(marker)).toHaveLength(5);
        } finally {
            engine.kill("SIGKILL");
        }
        for (let waited = 0; running(marker).length > 0 && waited < 5_000; waited += 100) await pause(100);
        expect(running(marker)).toEqual([]);
    });

    it("a plugin whose engine was killed while node started (the shim's BERTH_ENGINE_PID gone) ends at once, with what it started", async () => {
        const marker = (300 + Math.random()).toFixed(4);
        const engine = spawn("true");
        await new Promise((resolve) => engine.on("exit", resolve));
        // Started by this test process, which lives on: only the engine's pid the shim passed tells it is orphaned.
        spawn(process.execPath, ["--require", tool, "-e", `require("child_process").spawn("sleep", ["${marker}"]); setInterval(() => undefined, 1000);`], {
            stdio: "ignore",
            env: { ...process.env, BERTH_ENGINE_PID: String(engine.pid) },
        });
        // The plugin and its sleep, then neither.
        for (let waited = 0; running(marker).length < 2 && waited < 5_000; waited += 20) await pause(20);
        expect(running(marker)).toHaveLength(2);
        for (let waited = 0; running(marker).length > 0 && waited < 5_000; waited += 100) await pause(100);
        expect(running(marker)).toEqual([]);
    });
});
