// The trap of a stack file tracked by git that gains secrets encrypted with this machine's own passphrase (what
// `npm start` writes into Pulumi.dev.yaml): committed, they reach machines that cannot decrypt them.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { cacheDir } from "../cacheLayout";

/** `berth:*` keys holding a `secure:` value in `working` that `committed` does not hold with the same value. */
export function uncommittedSecrets(committed: string, working: string): string[] {
    const secure = (text: string) => {
        const found = new Map<string, string>();
        const pattern = /^ {2}(berth:[\w.-]+):\s*\n\s+secure:\s*(\S+)/gm;
        for (let m = pattern.exec(text); m; m = pattern.exec(text)) found.set(m[1], m[2]);
        return found;
    };
    const before = secure(committed);
    return [...secure(working)].filter(([key, value]) => before.get(key) !== value).map(([key]) => key).sort();
}

/** The warning for `keys` added to the tracked `file` under a passphrase kept on this machine; none when it is the team's. */
export function trackedSecretWarning(file: string, keys: string[], passphraseFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
    const local = passphraseFile !== undefined && path.resolve(passphraseFile).startsWith(path.join(cacheDir(env), "secrets") + path.sep);
    if (keys.length === 0 || !local) return [];
    return [`${file} is tracked by git and now holds ${keys.join(", ")}, encrypted with this machine's own passphrase (${passphraseFile}): `
        + `no other machine can decrypt them, so do not commit them (git checkout -- ${file} takes them out; npm start sets them again). `
        + "A team's stack keeps its secrets under the team's passphrase (PULUMI_CONFIG_PASSPHRASE), where committing them is the point."];
}

/** The stack file's committed and working text, or undefined outside git or when git does not track it. */
export function readTrackedStackFile(projectDir: string, stack: string): { file: string; committed: string; working: string } | undefined {
    const file = `Pulumi.${stack}.yaml`;
    const git = (...args: string[]) => execFileSync("git", ["-C", projectDir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 });
    try {
        git("ls-files", "--error-unmatch", "--", file);
        return { file, committed: git("show", `HEAD:./${file}`), working: fs.readFileSync(path.join(projectDir, file), "utf8") };
    } catch {
        return undefined;
    }
}
