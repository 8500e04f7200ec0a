import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { contextHash } from "./contextHash";
import { DockerImage } from "./docker/image";

export interface RegistryArgs {
    server: string;
    username: string;
    password: pulumi.Input<string>;
}

export interface AppImageArgs {
    dockerHost: string;
    app: string;
    branch: string;
    /** The Dockerfile's directory. */
    context: string;
    dockerfile?: string;
    target?: string;
    buildArgs?: Record<string, string>;
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

export function imageRepository(registry: string, app: string, branch: string): string {
    return `${registry}/${app}/${branchSegment(branch)}`;
}

export function readSourceState(context: string): SourceState {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: context, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const hash = contextHash(context);
    try {
        const commit = git("rev-parse", "--short=12", "HEAD");
        const dirty = git("status", "--porcelain", "--", ".") !== "";
        return { commit, dirty, contextHash: hash };
    } catch {
        return { dirty: false, contextHash: hash };
    }
}

/** Machine-level build args from the environment setup prepares (see README "Networks that re-sign TLS"). */
export function buildEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
    const caFile = env.BERTH_EXTRA_CA_CERTS_FILE;
    return caFile && fs.existsSync(caFile) ? { EXTRA_CA_CERTS: fs.readFileSync(caFile, "utf8") } : {};
}

/** The app's image, built from its Dockerfile, tagged `<registry>/<app>/<branch>:<gitsha>` and pushed. */
export class AppImage extends pulumi.ComponentResource {
    /** `repository@sha256:…`: what containers run, so they change exactly when the image does. */
    readonly imageRef: pulumi.Output<string>;
    readonly tag: string;

    constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:image:AppImage", name, {}, opts);
        const context = path.resolve(args.context);
        const source = readSourceState(context);
        this.tag = imageTag(source);
        const image = new DockerImage(`${name}-image`, {
            host: args.dockerHost,
            context,
            dockerfile: args.dockerfile ?? "Dockerfile",
            target: args.target ?? "",
            buildArgs: { APP_VERSION: this.tag, ...args.buildArgs },
            buildEnvironment: buildEnvironment(),
            contextHash: source.contextHash,
            repository: imageRepository(args.registry.server, args.app, args.branch),
            tag: this.tag,
            registry: pulumi.secret(pulumi.output(args.registry)),
        }, { parent: this });
        this.imageRef = image.imageRef;
        this.registerOutputs({ imageRef: this.imageRef, tag: this.tag });
    }
}
