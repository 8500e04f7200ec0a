"use strict";
// Loads berth's TypeScript (the program, the Docker resources' implementations, scripts) by transpiling each file
// with esbuild as it is required: ~1 ms a file, where ts-node first spends ~0.5 s loading the TypeScript compiler
// in every process that runs. Types are not checked here: `npm test` and `npm run check` run tsc first.
const fs = require("fs");
const path = require("path");

function register() {
    if (require.extensions[".ts"]) return; // already registered (this hook, ts-node or a test runner)
    const esbuild = require(require.resolve("esbuild", { paths: [path.join(__dirname, "..")] }));
    process.setSourceMapsEnabled(true); // stack traces point at the .ts lines
    require.extensions[".ts"] = (module, filename) => {
        const { code } = esbuild.transformSync(fs.readFileSync(filename, "utf8"), {
            loader: "ts",
            format: "cjs",
            target: "node20",
            sourcefile: filename,
            sourcemap: "inline",
        });
        module._compile(code, filename);
    };
}

module.exports = { register };
if (require.main === module) {
    // `node tools/register-typescript.js script.ts args…` runs a TypeScript script.
    register();
    const [script, ...args] = process.argv.slice(2);
    process.argv = [process.argv[0], path.resolve(script), ...args];
    require(path.resolve(script));
}
