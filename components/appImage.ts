import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { fillImageName, ImageRegistry, isDigestPinned, parseImageRef, registryPrefix } from "./imageReference";
import { contextHash } from "./contextHash";
import { AppSource } from "./config";
import { DockerImage } from "./docker/image";
import type { RegistryLogin } from "./docker/providers/image";
import { PulledImage } from "./docker/pulledImage";
import { LABEL } from "./naming";

export interface RegistryArgs extends ImageRegistry {
    /** berth:imageName */
    imageName: string;
    username: string;
    password: pulumi.Input<string>;
}

export interface AppImageArgs {
    host: string;
    stack: string;
    app: string;
    branch: string;
    /** Build from a Dockerfile context (resolved against projectDir), or deploy an existing reference. */
    source: AppSource;
    projectDir: string;
    registry: RegistryArgs;
}

export interface SourceState {
    /** Commit of the context, or undefined outside git. */
    commit?: string;
    /** Whether the context differs from that commit. */
    dirty: boolean;
    contextHash: string;
}

/** Git branch names as a repository path segment: `feature/Login` → `feature-login`. */
export function branchSegment(branch: string): string {
    return branch.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[-._]+|[-._]+$/g, "") || "detached";
}

/**
 * `<gitsha>` for a clean tree; a dirty tree gets `<gitsha>-dirty-<content>` so a tag never names two different
 * builds; outside git the content digest alone.
 */
export function imageTag(source: SourceState): string {
    const content = source.contextHash.slice(0, 12);
    if (!source.commit) return `src-${content}`;
    return source.dirty ? `${source.commit}-dirty-${content}` : source.commit;
}

export function imageRepository(registry: ImageRegistry & { imageName: string }, app: string, branch: string): string {
    return `${registryPrefix(registry)}/${fillImageName(registry.imageName, { app, branch: branchSegment(branch) })}`;
}

/**
 * The last commit that touched the context, not HEAD: a commit elsewhere in the repository (a README, a stack's
 * config — a production promotion) is no new release of the app, so it must not rebuild, retag and redeploy it.
 */
export function readSourceState(context: string, dockerfile = "Dockerfile"): SourceState {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: context, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const hash = contextHash(context, dockerfile);
    try {
        const commit = git("log", "-1", "--format=%H", "--", ".").slice(0, 12) || undefined;
        const dirty = git("status", "--porcelain", "--", ".") !== "";
        return { commit, dirty, contextHash: hash };
    } catch {
        return { dirty: false, contextHash: hash };
    }
}

/** Machine-level build args from the environment setup prepares (see docs/internals.md, "Networks that re-sign TLS"). */
export function buildEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
    const caFile = env.BERTH_EXTRA_CA_CERTS_FILE;
    return caFile && fs.existsSync(caFile) ? { EXTRA_CA_CERTS: fs.readFileSync(caFile, "utf8") } : {};
}

/** The version an existing reference stands for: its tag, else the start of its digest. */
export function referenceVersion(reference: string): string {
    const { tag, digest } = parseImageRef(reference) ?? { tag: "", digest: "" };
    return tag || `sha256-${digest.slice("sha256:".length, "sha256:".length + 12)}`;
}

/**
 * The app's image: built from its Dockerfile, tagged `<registry>/<app>/<branch>:<gitsha>` and pushed, or an
 * existing reference (production deploys the digest staging tested) made present on the engine.
 */
export class AppImage extends pulumi.ComponentResource {
    /** `repository@sha256:…`: what containers run, so they change exactly when the image does. */
    readonly imageRef: pulumi.Output<string>;
    /** The git-based tag of a build; for an existing reference, its `berth.version` label, else its tag. */
    readonly version: pulumi.Output<string>;
    /** Credentials that pull imageRef on an engine that lacks it. */
    readonly pullLogin: pulumi.Output<RegistryLogin> | undefined;

    constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:image:AppImage", name, {}, opts);
        const login = pulumi.secret(pulumi.output({ server: args.registry.server, username: args.registry.username, password: args.registry.password }));
        // Log in only to berth's own registry; other references are public or use the engine's own login.
        this.pullLogin = args.source.kind === "image" && !args.source.reference.startsWith(`${args.registry.server}/`) ? undefined : login;
        if (args.source.kind === "image" && isDigestPinned(args.source.reference)) {
            // A digest never moves: containers run it as it is (they pull it when missing), and a promotion
            // (a new digest in config) shows up as exactly the app containers being replaced.
            this.imageRef = pulumi.output(args.source.reference);
            this.version = pulumi.output(referenceVersion(args.source.reference));
        } else if (args.source.kind === "image") {
            const reference = args.source.reference;
            const pulled = new PulledImage(`${name}-pulled`, {
                host: args.host,
                reference,
                registry: this.pullLogin,
            }, { parent: this });
            this.imageRef = pulled.imageRef;
            this.version = pulled.version.apply((label) => label || referenceVersion(reference));
        } else {
            const context = path.resolve(args.projectDir, args.source.context);
            const source = readSourceState(context, args.source.dockerfile);
            const tag = imageTag(source);
            this.version = pulumi.output(tag);
            const image = new DockerImage(`${name}-image`, {
                host: args.host,
                context,
                dockerfile: args.source.dockerfile,
                target: args.source.target,
                buildArgs: { APP_VERSION: tag, ...args.source.buildArgs },
                buildEnvironment: buildEnvironment(),
                contextHash: source.contextHash,
                // Cleanup removes only what this stack built, never another stack's rollback images.
                labels: { [LABEL.builtBy]: args.stack },
                repository: imageRepository(args.registry, args.app, args.branch),
                tag,
                registry: login,
            }, { parent: this });
            this.imageRef = image.imageRef;
        }
        this.registerOutputs({ imageRef: this.imageRef, version: this.version });
    }
}
