"use strict";
// Preloaded into the plugins berth ships (the language host stand-in, the dynamic-provider shim): a plugin ends
// with the engine that started it. Plugins run in process groups of their own, so killing an `up` (kill -9 of a
// cancelled CI job's process group) would leave them behind, holding memory or spinning on the dead engine's pipes.
const engine = process.ppid;
setInterval(() => {
    if (process.ppid !== engine) process.exit(1);
}, 500).unref();
