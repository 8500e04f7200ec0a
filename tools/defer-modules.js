"use strict";
// Preloaded into the language host and the dynamic-provider plugin. @pulumi/pulumi requires, at load, modules that
// only closure serialisation uses, which berth never does (its provider module is written by hand, its code
// transpiled by esbuild): the TypeScript compiler (~0.2 s to load) and npm's package tree reader with the package
// data normaliser (~0.4 s); its Automation API (~0.1 s), which a program run by the engine does not drive; semver
// (~35 ms), read only to match resource packages' versions; OpenTelemetry's API (~35 ms), read only on calls to the
// engine, which the plugin never makes. Each process (program and plugin, at once on the same cores) loads them only
// if something really reads from them.
const path = require("path");
const Module = require("module");
const DEFERRED = ["typescript", "@npmcli/arborist", "normalize-package-data", "@pulumi/pulumi/automation", "semver", "@opentelemetry/api"];

for (const id of DEFERRED) {
    let resolved;
    try {
        resolved = require.resolve(id, { paths: [path.join(__dirname, "..")] });
    } catch {
        continue; // not installed here: @pulumi/pulumi falls back to its own copy, as it would anyway
    }
    if (require.cache[resolved]) continue;
    let real;
    const load = () => real ?? (delete require.cache[resolved], (real = require(resolved)));
    const deferred = new Module(resolved);
    deferred.filename = resolved;
    deferred.loaded = true;
    // TypeScript's `import * as x` / default-import helpers first ask for __esModule (then would list every key):
    // answered without loading, with `default` as the module itself, as those helpers would have made it.
    deferred.exports = new Proxy(function deferredModule() {}, {
        get: (_target, key) => (key === "__esModule" ? true : key === "default" && !load().__esModule ? load() : load()[key]),
        has: (_target, key) => key in load(),
        ownKeys: () => [...new Set([...Reflect.ownKeys(load()), "prototype"])],
        getOwnPropertyDescriptor: (target, key) => (key === "prototype" ? Reflect.getOwnPropertyDescriptor(target, key) : { ...Object.getOwnPropertyDescriptor(load(), key), configurable: true }),
        apply: (_target, self, args) => Reflect.apply(load(), self, args),
        construct: (_target, args) => Reflect.construct(load(), args),
    });
    require.cache[resolved] = deferred;
}
