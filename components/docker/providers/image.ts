import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { docker, DockerHost, inspect, labelFlags } from "../cli";
import { changedKeys } from "../resource";
import { LABEL } from "../../naming";

export interface RegistryLogin {
    server: string;
    username: string;
    password: string;
}

export interface DockerImageInputs {
    host: DockerHost;
    /** Absolute path of the build context. */
    context: string;
    /** Dockerfile path relative to the context. */
    dockerfile: string;
    target: string;
    buildArgs: Record<string, string>;
    /**
     * Build args that belong to the machine doing the build, not to the image's desired state (e.g. the extra CA
     * certificates of a network that re-signs TLS): passed to the build, never diffed, never recorded.
     */
    buildEnvironment: Record<string, string>;
    /** Digest of the context's files: the image is rebuilt exactly when it changes. */
    contextHash: string;
    /** Extra image labels, e.g. which stack built it (what cleanup goes by). */
    labels: Record<string, string>;
    /** e.g. `registry.example.com/shop/main` */
    repository: string;
    /** e.g. the git sha */
    tag: string;
    /** Where to push; the image stays local when absent. */
    registry?: RegistryLogin;
}

export interface DockerImageOutputs {
    imageId: string;
    /** `repository@sha256:…` once pushed, else the local image id: what containers should run. */
    imageRef: string;
}

/**
 * What rebuilds the image when it changes. Not the context's path: its files are (contextHash), and the path is where
 * each teammate's checkout happens to be (a team's shared state would otherwise rebuild on every machine).
 */
const rebuildKeys = ["host", "dockerfile", "target", "buildArgs", "contextHash", "labels", "repository", "tag"] as const;

/**
 * The image to name with `--cache-from`, if any: the stack's previous release only when it was pulled (a pulled
 * image has no parent). One built on this engine is in its local cache already, and naming it would only narrow the
 * legacy builder's choice to layers of that one chain.
 */
export function buildCacheSource(previous: string, found: { Parent?: string } | undefined): string | undefined {
    return found && !found.Parent ? previous : undefined;
}

/**
 * The previous release as the build's cache on an engine that lacks it (a fresh CI runner): pulled by its digest,
 * so its layers are reused. Never a moving tag pushed for the purpose: that cost a second push in every release.
 * Only from the registry this build pushes to (its login); a build without a cache is still correct.
 */
async function previousReleaseAsCache(inputs: DockerImageInputs, previous: string | undefined, loggedIn: (args: string[]) => Promise<string>): Promise<string | undefined> {
    if (!previous || !inputs.registry || !previous.startsWith(`${inputs.registry.server}/`)) return undefined;
    let found = await inspect(inputs.host, "image", previous);
    if (!found) {
        await loggedIn(["pull", "--quiet", previous]).catch(() => undefined);
        found = await inspect(inputs.host, "image", previous);
    }
    return buildCacheSource(previous, found);
}

/** The `docker build` arguments (berth's labels, build args in a stable order, cache source when there is one). */
export function buildArgs(inputs: DockerImageInputs, cacheFrom: string | undefined): string[] {
    const allBuildArgs = { ...inputs.buildEnvironment, ...inputs.buildArgs };
    return [
        "build",
        "--force-rm",
        "--file", path.join(inputs.context, inputs.dockerfile),
        "--tag", `${inputs.repository}:${inputs.tag}`,
        // Each label is a step of its own in the legacy builder (~0.13 s): only those something reads.
        ...labelFlags({ ...inputs.labels, [LABEL.version]: inputs.tag }),
        ...Object.keys(allBuildArgs).sort().flatMap((key) => ["--build-arg", `${key}=${allBuildArgs[key]}`]),
        ...(inputs.target ? ["--target", inputs.target] : []),
        ...(cacheFrom ? ["--cache-from", cacheFrom] : []),
        inputs.context,
    ];
}

async function buildAndPush(inputs: DockerImageInputs, previousImageRef?: string): Promise<DockerImageOutputs> {
    const reference = `${inputs.repository}:${inputs.tag}`;
    // The login (if any) runs beside the build, which needs none; a pull of the previous release waits for it.
    await withRegistryLogin(inputs.host, inputs.registry, async (loggedIn) => {
        const cacheFrom = await previousReleaseAsCache(inputs, previousImageRef, loggedIn);
        await docker(inputs.host, buildArgs(inputs, cacheFrom));
        if (inputs.registry) await loggedIn(["push", reference]);
    });
    let image = await inspect(inputs.host, "image", reference);
    if (!image) {
        throw new Error(`image ${reference} missing right after its build`);
    }
    const digestOf = (found: any): string | undefined => (found.RepoDigests ?? []).find((d: string) => d.startsWith(`${inputs.repository}@`));
    // Two stacks building berth's own image (same tag) at once: the tag may have moved to the other's build between
    // this push and the inspect; pushing what the tag names now gives it its digest.
    for (let attempt = 0; attempt < 3 && inputs.registry && !digestOf(image); attempt++) {
        await withRegistryLogin(inputs.host, inputs.registry, (loggedIn) => loggedIn(["push", reference]));
        image = (await inspect(inputs.host, "image", reference)) ?? image;
    }
    const repoDigest = digestOf(image);
    if (inputs.registry && !repoDigest) {
        throw new Error(`pushed ${reference} but the engine reports no digest for ${inputs.repository}`);
    }
    return { imageId: image.Id, imageRef: repoDigest ?? image.Id };
}

/** Runs docker commands logged in through a throw-away client config, so no password lands in ~/.docker. */
export async function withRegistryLogin<T>(
    host: DockerHost,
    login: RegistryLogin | undefined,
    run: (docker: (args: string[]) => Promise<string>) => Promise<T>,
): Promise<T> {
    const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), "berth-docker-config-"));
    const env = { DOCKER_CONFIG: dockerConfig };
    // Started at once; only the calls made through `loggedIn` wait for it, so `run` may do other work first.
    const loggingIn = login
        ? docker(host, ["login", login.server, "--username", login.username, "--password-stdin"], { stdin: login.password, env })
        : Promise.resolve("");
    loggingIn.catch(() => undefined); // handled where it is awaited, later; until then not an unhandled rejection
    try {
        const result = await run(async (args) => {
            await loggingIn;
            return docker(host, args, { env });
        });
        await loggingIn; // a refused login fails the call even where `run` needed none (a host check asks just that)
        return result;
    } finally {
        // The credentials file goes only once the login has ended, so none is written after it.
        await loggingIn.catch(() => undefined);
        fs.rmSync(dockerConfig, { recursive: true, force: true });
    }
}

/** Makes `image` present on `host`: pulled (with the registry login, where given) unless the engine has it. */
export async function pullIfMissing(host: DockerHost, image: string, login: RegistryLogin | undefined): Promise<void> {
    if (await inspect(host, "image", image)) return;
    await withRegistryLogin(host, login, (loggedIn) => loggedIn(["pull", "--quiet", image]));
}

/** State keeps what is needed to diff, never the registry password. */
function recordedState(inputs: DockerImageInputs, outputs: DockerImageOutputs) {
    const { registry, buildEnvironment, ...rest } = inputs;
    return { ...rest, registryServer: registry?.server ?? "", ...outputs };
}

export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: DockerImageInputs) {
        const outputs = await buildAndPush(inputs);
        return { id: `${inputs.repository}:${inputs.tag}`, outs: recordedState(inputs, outputs) };
    },
    async diff(_id: string, olds: DockerImageInputs, news: DockerImageInputs) {
        const changed = changedKeys(olds, news, rebuildKeys);
        // An update, not a replacement: the previous image stays on the engine and in the registry for rollback.
        return { changes: changed.length > 0 || (olds as any).registryServer !== (news.registry?.server ?? "") };
    },
    async update(_id: string, olds: DockerImageInputs & Partial<DockerImageOutputs>, news: DockerImageInputs) {
        return { outs: recordedState(news, await buildAndPush(news, olds.imageRef)) };
    },
    async read(id: string, props: any) {
        const found = await inspect(props.host, "image", id);
        return found ? { id, props } : { id: "", props: {} };
    },
    // Deleting from state leaves the image in place: old releases are what rollback needs.
    async delete() {},
};
