// Image references, `[registry[:port]/]path[:tag][@sha256:<64 hex>]`, the grammar of `docker pull`: parsed here
// once, into their parts, for every part of berth (config, providers, the policy pack).

export interface ImageReference {
    /** `registry.example.com:5000`; empty for Docker Hub. */
    registry: string;
    /** `team/app`: the repository inside the registry. */
    path: string;
    /** Empty when none. */
    tag: string;
    /** `sha256:<64 hex>`; empty when none. */
    digest: string;
}

const COMPONENT = "[a-z0-9]+(?:[._-][a-z0-9]+)*";
const GRAMMAR = new RegExp(`^(?:([a-z0-9.-]+(?::[0-9]+)?)/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`);

/** The reference's parts, or undefined when it is not one. */
export function parseImageRef(reference: string): ImageReference | undefined {
    const match = GRAMMAR.exec(reference);
    if (!match) return undefined;
    const [, first = "", rest, tag = "", digest = ""] = match;
    // As Docker reads it: a first component is a registry only with a dot, a port or as localhost (`team/app` is a path).
    const isRegistry = first !== "" && (/[.:]/.test(first) || first === "localhost");
    return { registry: isRegistry ? first : "", path: isRegistry || first === "" ? rest : `${first}/${rest}`, tag, digest };
}

/** Whether `path` is a repository path as references spell it (`team/app`, lowercase components). */
export function isRepositoryPath(path: string): boolean {
    return new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`).test(path);
}

/** Where a stack's images go: a registry's server (what `docker login` takes) and a path inside it (`my-org`, or none). */
export interface ImageRegistry {
    server: string;
    namespace: string;
}

/** `server[/namespace]`: what every image name of the stack starts with. */
export function registryPrefix(registry: ImageRegistry): string {
    return registry.namespace ? `${registry.server}/${registry.namespace}` : registry.server;
}

/** `registry.example.com[:port][/namespace…]` split into its server and namespace, or undefined when it is not one. */
export function parseRegistryPrefix(value: string): ImageRegistry | undefined {
    const match = /^([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?)(?:\/(.+))?$/.exec(value);
    if (!match || (match[2] !== undefined && !isRepositoryPath(match[2]))) return undefined;
    return { server: match[1], namespace: match[2] ?? "" };
}

/** The placeholders of berth:imageName, each a repository path component once filled. */
export const IMAGE_NAME_PLACEHOLDERS = ["app", "branch"] as const;

/** An image's repository inside the registry: `pattern` (berth:imageName, e.g. `{app}/{branch}`) filled in. */
export function fillImageName(pattern: string, values: Record<(typeof IMAGE_NAME_PLACEHOLDERS)[number], string>): string {
    return pattern.replace(/\{([a-z]+)\}/g, (whole, name: string) => (values as Record<string, string>)[name] ?? whole);
}

/** `registry/path`: what a reference names without its tag or digest (how RepoDigests list it). */
export function repositoryOf(reference: ImageReference): string {
    return reference.registry ? `${reference.registry}/${reference.path}` : reference.path;
}

/** Whether a reference names its image by digest, so it can never move. */
export function isDigestPinned(reference: string): boolean {
    return (parseImageRef(reference)?.digest ?? "") !== "";
}
