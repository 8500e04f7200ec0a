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
    mapStackTracesToTypeScript();
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
        transpiledCode.set(filename, code);
        module._compile(code, filename);
    };
}

/** Transpiled code by file name: the source map inline in it is decoded when one of the file's frames is formatted. */
const transpiledCode = new Map();
const sourceMaps = new Map();

function sourceMapOf(filename) {
    if (!sourceMaps.has(filename)) {
        const inline = /\/\/# sourceMappingURL=data:application\/json;base64,(\S+)\s*$/.exec(transpiledCode.get(filename));
        const { SourceMap } = require("module");
        sourceMaps.set(filename, inline ? new SourceMap(JSON.parse(Buffer.from(inline[1], "base64").toString("utf8"))) : undefined);
    }
    return sourceMaps.get(filename);
}

/** A frame as V8 prints it, at its TypeScript line and column when it is in a file this loader transpiled. */
function typeScriptFrame(frame) {
    const text = String(frame);
    const filename = frame.getFileName();
    const map = filename && transpiledCode.has(filename) ? sourceMapOf(filename) : undefined;
    const [line, column] = [frame.getLineNumber(), frame.getColumnNumber()];
    const entry = map && line && column ? map.findEntry(line - 1, column - 1) : undefined;
    if (entry?.originalLine === undefined) return text;
    return text.replace(`${filename}:${line}:${column}`, `${filename}:${entry.originalLine + 1}:${entry.originalColumn + 1}`);
}

/** Where @pulumi/pulumi's own code lies. */
const PULUMI_SDK = `${path.sep}node_modules${path.sep}@pulumi${path.sep}pulumi${path.sep}`;
/** Where it stamps each promise it makes with a stack, which it prints only with PULUMI_DEBUG_PROMISE_LEAKS set. */
const PROMISE_STAMP = `${PULUMI_SDK}runtime${path.sep}debuggable.js`;

/**
 * Stack traces of errors point at the .ts lines. Not through Node's own source maps (process.setSourceMapsEnabled):
 * those map every stack formatted, and @pulumi/pulumi formats one for its own bookkeeping with each promise and
 * resource it makes (a message-less Error made in its own code; a no-op `up` of the dev stack formats ~8,000
 * frames): mapped, they cost ~0.2 s of the program's ~1 s, so those are left as V8 formats them.
 */
function mapStackTracesToTypeScript() {
    Error.prepareStackTrace = (error, frames) => {
        let header;
        try {
            header = Error.prototype.toString.call(error);
        } catch {
            header = "Error";
        }
        const bookkeeping = header === "Error" && frames[0]?.getFileName()?.includes(PULUMI_SDK);
        // Thousands per run, never shown unless asked for: not formatted unless they will be (7 % less CPU for the
        // program in a no-op `up` of a 2-replica stack: 1.16 s against 1.24 s, mean of 4 alternating runs).
        if (bookkeeping && !process.env.PULUMI_DEBUG_PROMISE_LEAKS && frames[0].getFileName().endsWith(PROMISE_STAMP)) return header;
        return [header, ...frames.map((frame) => `    at ${bookkeeping ? frame : typeScriptFrame(frame)}`)].join("\n");
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
