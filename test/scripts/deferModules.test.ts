import { execFileSync } from "child_process";
import * as path from "path";
import { describe, expect, it } from "vitest";

const projectRoot = path.join(__dirname, "..", "..");

/** Runs `script` in a fresh Node.js process with tools/defer-modules.js preloaded, as the language host and the plugin shim do. */
function withDeferral(script: string): any {
    const out = execFileSync(process.execPath, ["--require", path.join(projectRoot, "tools", "defer-modules.js"), "-e", script], { cwd: projectRoot, encoding: "utf8" });
    return JSON.parse(out);
}

describe("tools/defer-modules.js", () => {
    it("loading @pulumi/pulumi loads neither npm's package tree reader, the package data normaliser, TypeScript, the Automation API, semver nor OpenTelemetry", () => {
        const result = withDeferral(`
            const pulumi = require("@pulumi/pulumi");
            const files = Object.keys(require.cache);
            const count = (name) => files.filter((f) => f.includes("/node_modules/" + name + "/")).length;
            console.log(JSON.stringify({ runtime: typeof pulumi.runtime.computeCodePaths, arborist: count("@npmcli/arborist"), normalize: count("normalize-package-data"), typescript: count("typescript"), automation: count("@pulumi/pulumi/automation"), semver: count("semver"), otel: count("@opentelemetry/api") }));`);
        // One cache entry each: the stand-in, never the package's own modules.
        expect(result).toEqual({ runtime: "function", arborist: 1, normalize: 1, typescript: 1, automation: 1, semver: 1, otel: 1 });
    });

    it("the Automation API works once used, through @pulumi/pulumi and on its own", () => {
        const result = withDeferral(`
            const pulumi = require("@pulumi/pulumi");
            console.log(JSON.stringify({ viaPulumi: typeof pulumi.automation.LocalWorkspace.create, direct: typeof require("@pulumi/pulumi/automation").fullyQualifiedStackName }));`);
        expect(result).toEqual({ viaPulumi: "function", direct: "function" });
    });

    it("a deferred module works as the real one once used, through the import helpers TypeScript emits", () => {
        const result = withDeferral(`
            const importStar = (mod) => (mod && mod.__esModule ? mod : { ...mod, default: mod });
            const importDefault = (mod) => (mod && mod.__esModule ? mod : { default: mod });
            const arborist = importStar(require("@npmcli/arborist"));
            const normalize = importDefault(require("normalize-package-data"));
            const data = { name: "x", version: "1.0.0" };
            normalize.default(data);
            const ts = require("typescript");
            const semver = importStar(require("semver"));
            const otel = importStar(require("@opentelemetry/api"));
            console.log(JSON.stringify({
                semver: semver.gt("1.10.0", "1.9.0"),
                otel: typeof otel.propagation.inject,
                arborist: typeof new arborist.Arborist({ path: process.cwd() }).loadActual,
                normalized: data._id,
                direct: typeof require("normalize-package-data"),
                typescript: ts.transpileModule("let a: number = 1", {}).outputText.trim(),
            }));`);
        expect(result).toEqual({ semver: true, otel: "function", arborist: "function", normalized: "x@1.0.0", direct: "function", typescript: "var a = 1;" });
    });
});
