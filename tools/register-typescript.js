"use strict";
// Loads berth's TypeScript (the program, the Docker resources' implementations, scripts) by transpiling each file
// with esbuild as it is required: ~1 ms a file, where ts-node first spends ~0.5 s loading the TypeScript compiler
// in every process that runs. Types are not checked here: `npm test` and `npm run check` run tsc first.
// What a file transpiles to is kept in node_modules/.cache/berth-ts, keyed by its path, content and esbuild's
// version: a run whose files have not changed never starts esbuild (~0.3 s of CPU in each of the language host and
// the provider plugin, which start side by side on every run).
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const projectRoot = path.join(__dirname, "..");
const cacheDir = path.join(projectRoot, "node_modules", ".cache", "berth-ts");

function register() {
    if (require.extensions[".ts"]) return; // already registered (this hook, ts-node or a test runner)
    let esbuild;
    const transpile = (source, filename) => {
        esbuild ??= require(require.resolve("esbuild", { paths: [projectRoot] }));
        return esbuild.transformSync(source, { loader: "ts", format: "cjs", target: "node20", sourcefile: filename, sourcemap: "inline" }).code;
    };
    const esbuildVersion = JSON.parse(fs.readFileSync(require.resolve("esbuild/package.json", { paths: [projectRoot] }), "utf8")).version;
    process.setSourceMapsEnabled(true); // stack traces point at the .ts lines
    require.extensions[".ts"] = (module, filename) => {
        const source = fs.readFileSync(filename, "utf8");
        const key = crypto.createHash("sha256").update(`${esbuildVersion}\0${filename}\0${source}`).digest("hex");
        const cached = path.join(cacheDir, `${key}.js`);
        let code;
        try {
            code = fs.readFileSync(cached, "utf8");
        } catch {
            code = transpile(source, filename);
            try {
                fs.mkdirSync(cacheDir, { recursive: true });
                // Written whole, then renamed: a process starting meanwhile reads the old entry or the new one.
                const partial = `${cached}.${process.pid}.partial`;
                fs.writeFileSync(partial, code);
                fs.renameSync(partial, cached);
            } catch {
                // a read-only checkout: transpile every time, as without the cache
            }
        }
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
