import * as crypto from "crypto";

/**
 * Per-branch stacks (`npm run branch -- up|down <branch>`): how a git branch name becomes a stack name and a host
 * port. Pure functions; scripts/branch.ts does the work.
 */

export const BRANCH_STACK_PREFIX = "branch-";
export const MAX_BRANCH_NAME = 100;
/** Keeps `berth-<stack>-<service>-<random>` container names and image paths short. */
const MAX_SLUG = 40;

export class BranchNameError extends Error {
    constructor(branch: string, problem: string) {
        super(`invalid branch name ${JSON.stringify(branch)}: ${problem}`);
        this.name = "BranchNameError";
    }
}

/**
 * `feature/Login-Page` → `branch-feature-login-page`. Lower case, runs of anything but letters and digits become one
 * dash; a slug longer than 40 characters is cut and given a hash of the full name, so two long names stay apart.
 */
export function branchStackName(branch: string): string {
    if (branch.trim() === "") throw new BranchNameError(branch, "it is empty");
    if (branch.length > MAX_BRANCH_NAME) throw new BranchNameError(branch, `it has ${branch.length} characters; at most ${MAX_BRANCH_NAME}`);
    const slug = branch.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
    if (slug === "") throw new BranchNameError(branch, "it has no letters or digits");
    if (slug.length <= MAX_SLUG) return `${BRANCH_STACK_PREFIX}${slug}`;
    const hash = crypto.createHash("sha256").update(branch).digest("hex").slice(0, 6);
    return `${BRANCH_STACK_PREFIX}${slug.slice(0, MAX_SLUG - 7).replace(/-+$/, "")}-${hash}`;
}

/** Below the kernel's ephemeral range (32768+), so no outgoing connection can hold a branch's port. */
export const BRANCH_PORTS = { first: 21000, count: 9000 } as const;

/**
 * The proxy port of a branch stack: the first port at or after a spot derived from the stack name that no other
 * branch stack holds and nothing listens on. Once picked it is kept in the stack's config, so it never moves.
 */
export function pickHostPort(stack: string, taken: ReadonlySet<number>): number {
    const start = crypto.createHash("sha256").update(stack).digest().readUInt32BE(0) % BRANCH_PORTS.count;
    for (let i = 0; i < BRANCH_PORTS.count; i++) {
        const port = BRANCH_PORTS.first + ((start + i) % BRANCH_PORTS.count);
        if (!taken.has(port)) return port;
    }
    throw new Error(`no free port for ${stack} in ${BRANCH_PORTS.first}-${BRANCH_PORTS.first + BRANCH_PORTS.count - 1}`);
}

/** Where a branch's name goes in branch-template.yaml's berth:domains (`{branch}.staging.example.com`). */
export const BRANCH_PLACEHOLDER = "{branch}";

/**
 * The template's berth:domains for one branch stack: `{branch}` in each name becomes the stack's slug
 * (`branch-feature-x` → `feature-x.staging.example.com`), a DNS label of at most 40 characters. Anything but a list
 * of names is left for the config check to refuse.
 */
export function branchDomains(domains: unknown, stack: string): unknown {
    const slug = stack.slice(BRANCH_STACK_PREFIX.length);
    return Array.isArray(domains) ? domains.map((name) => (typeof name === "string" ? name.split(BRANCH_PLACEHOLDER).join(slug) : name)) : domains;
}
