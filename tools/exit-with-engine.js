"use strict";
// Preloaded into the plugins berth ships (the language host stand-in, the dynamic-provider shim): a plugin ends
// with the engine that started it. Plugins run in process groups of their own, so killing an `up` (kill -9 of a
// cancelled CI job's process group) would leave them behind, holding memory or spinning on the dead engine's pipes.
// What the plugin started goes with it: the provider's docker calls (a build, a push, an attached run) would
// otherwise run on for minutes, orphaned, for a run nobody waits for.
const fs = require("fs");

// The engine: the shim's parent as the shim saw it (BERTH_ENGINE_PID), for an engine killed while node starts leaves
// this process to init before this line runs; else this process's parent.
const engine = Number(process.env.BERTH_ENGINE_PID) || process.ppid;
delete process.env.BERTH_ENGINE_PID;

/** The processes below `root` (Linux's /proc; elsewhere none are known). */
function descendants(root) {
    const parentOf = new Map();
    try {
        for (const entry of fs.readdirSync("/proc")) {
            if (!/^\d+$/.test(entry)) continue;
            try {
                // "pid (comm) state ppid …": comm may hold spaces and parentheses, so the fields after its last ")".
                const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
                parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
            } catch {
                // gone meanwhile
            }
        }
    } catch {
        return [];
    }
    const found = [];
    for (let parents = new Set([root]); parents.size > 0; ) {
        const children = [...parentOf].filter(([, ppid]) => parents.has(ppid)).map(([pid]) => pid);
        found.push(...children);
        parents = new Set(children);
    }
    return found;
}

setInterval(() => {
    if (process.ppid === engine) return;
    for (const pid of descendants(process.pid)) {
        try {
            // SIGKILL, as berth's docker calls time out: an attached `docker run` passes SIGTERM on and waits.
            process.kill(pid, "SIGKILL");
        } catch {
            // gone meanwhile
        }
    }
    process.exit(1);
}, 500).unref();
