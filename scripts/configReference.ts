/**
 * `npm run docs`: writes docs/configuration.md, the configuration reference, from Pulumi.yaml's config schema (the
 * one place each key's type, default and meaning are written). A test fails when the two differ.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

const root = path.resolve(__dirname, "..");
export const REFERENCE = path.join(root, "docs", "configuration.md");

interface KeySpec {
    type: string;
    items?: { type: string };
    description?: string;
    default?: unknown;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const shown = (value: unknown) => (value === "" ? '`""`' : `\`${JSON.stringify(value).replace(/\|/g, "\\|")}\``);

/** The reference's Markdown for Pulumi.yaml's text. */
export function configReference(pulumiYaml: string): string {
    const config = (yaml.load(pulumiYaml) as { config: Record<string, KeySpec> }).config;
    const rows = Object.entries(config).map(([key, spec]) =>
        `| \`berth:${key}\` | ${spec.type}${spec.items ? ` of ${spec.items.type}` : ""} | ${shown(spec.default)} | ${cell(spec.description ?? "")} |`);
    return [
        "# Configuration reference",
        "",
        "Generated from `Pulumi.yaml` by `npm run docs`; do not edit by hand (`npm test` fails when the two differ).",
        "Set a key with `npm run pulumi -- config set berth:<key> <value> --stack <stack>` (objects and lists: `--path`,",
        "or edit `Pulumi.<stack>.yaml`). Every value is checked at preview, and an unknown key is refused with the",
        "nearest known one.",
        "",
        "| key | type | default | meaning |",
        "| --- | --- | --- | --- |",
        ...rows,
        "",
        "## Secrets",
        "",
        "Not in the schema (a declared key without a default would be required of every stack); set each with",
        "`npm run pulumi -- config set --secret berth:<key> --stack <stack>`, encrypted in the stack file and in state:",
        "",
        "| key | needed when |",
        "| --- | --- |",
        "| `berth:registryPassword` | the stack builds and pushes, or its hosts pull from a registry with a login |",
        "| `berth:<service>Password` | each postgres, mysql and rabbitmq service; a redis service once several hosts reach it |",
        "| `berth:secretEnv.<NAME>` | each secret variable of the app (`--path`) |",
        "| `berth:tlsCertificate`, `berth:tlsPrivateKey` | `berth:tls: manual`, or HTTPS on the stack's own proxy (`berth:httpsPort`) |",
        "| `berth:backupPassword` | `berth:backups`: the restic repository's password |",
        "| `berth:backupSshKey` | `berth:backups` with an `sftp:` repository: the private key of its SSH login |",
        "",
    ].join("\n");
}

if (process.argv[1] === __filename) {
    fs.writeFileSync(REFERENCE, configReference(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")));
    console.log(`berth: wrote ${path.relative(root, REFERENCE)}`);
}
