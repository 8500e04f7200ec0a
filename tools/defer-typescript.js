"use strict";
// Preloaded into the language host and the dynamic-provider plugin: @pulumi/pulumi requires the TypeScript
// compiler (~0.2 s to load) for closure serialisation, which berth never uses (its provider module is written by
// hand, its code transpiled by esbuild). The compiler is loaded only if something really reads from it.
const path = require("path");
let resolved;
try {
    resolved = require.resolve("typescript", { paths: [path.join(__dirname, "..")] });
} catch {
    return; // not installed here: @pulumi/pulumi falls back to its own copy, as it would anyway
}
if (!require.cache[resolved]) {
    let real;
    const load = () => real ?? (delete require.cache[resolved], (real = require(resolved)));
    const Module = require("module");
    const deferred = new Module(resolved);
    deferred.filename = resolved;
    deferred.loaded = true;
    deferred.exports = new Proxy({}, {
        get: (_target, key) => load()[key],
        has: (_target, key) => key in load(),
        ownKeys: () => Reflect.ownKeys(load()),
        getOwnPropertyDescriptor: (_target, key) => ({ ...Object.getOwnPropertyDescriptor(load(), key), configurable: true }),
    });
    require.cache[resolved] = deferred;
}
