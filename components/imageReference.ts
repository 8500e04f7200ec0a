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

/** `registry/path`: what a reference names without its tag or digest (how RepoDigests list it). */
export function repositoryOf(reference: ImageReference): string {
    return reference.registry ? `${reference.registry}/${reference.path}` : reference.path;
}

/** Whether a reference names its image by digest, so it can never move. */
export function isDigestPinned(reference: string): boolean {
    return (parseImageRef(reference)?.digest ?? "") !== "";
}
