/**
 * berth's guardrails as pure functions over one resource as the policy engine shows it (type, URN, inputs,
 * options): each returns what is wrong with it, as messages that say how to fix it. index.ts serves them as a
 * Pulumi policy pack; test/policy tests them alone and through the engine.
 */
import { isDigestPinned } from "../components/imageReference";
import { berthType, LABEL } from "../components/naming";

/** berth's own resources (dynamic providers) and the pulumi-docker ones people mix in. */
export const types = {
    container: berthType("DockerContainer"),
    image: berthType("DockerImage"),
    pulledImage: berthType("PulledImage"),
    volume: berthType("DockerVolume"),
    releaseGate: berthType("ReleaseGate"),
    swarmService: berthType("SwarmService"),
    dockerContainer: "docker:index/container:Container",
    dockerRemoteImage: "docker:index/remoteImage:RemoteImage",
} as const;

export interface ResourceView {
    type: string;
    urn: string;
    props: Record<string, any>;
    protect: boolean;
}

/** `urn:pulumi:<stack>::<project>::<type>::<name>` → `<stack>` */
export function stackOf(urn: string): string {
    return urn.split("::")[0].split(":").slice(2).join(":");
}

const digestPinned = (reference: unknown) => typeof reference === "string" && isDigestPinned(reference);
const nameOf = (r: ResourceView) => r.urn.split("::").pop();
/** The app's processes: web replicas and the containers of its other roles (berth:roles), or their Swarm services. */
const isAppContainer = (r: ResourceView) => (r.type === types.container || r.type === types.swarmService) && ["app", "worker"].includes(r.props.labels?.[LABEL.role]);

/**
 * berth's own proxy image: built from berth's images/proxy, named berth/proxy and tagged with its content's hash,
 * so the same content always has the same tag, on every stack. Production may publish it: it is berth, not the app.
 */
export function isBerthProxyImage(props: Record<string, any>): boolean {
    return /(^|\/)berth\/proxy$/.test(String(props.repository ?? "")) && /(^|[\\/])images[\\/]proxy$/.test(String(props.context ?? ""))
        && typeof props.contextHash === "string" && props.tag === props.contextHash.slice(0, 12) && Object.keys(props.buildArgs ?? {}).length === 0;
}

const PROMOTE = "promote the digest staging built: set berth:image to staging's `imageRef` output (repo@sha256:…)";

/** Production never runs a mutable tag: every image it deploys is named by digest, and nothing is built there. */
export function productionImageFindings(r: ResourceView, productionStacks: string[]): string[] {
    if (!productionStacks.includes(stackOf(r.urn))) return [];
    const pinned = (what: string, reference: unknown) =>
        digestPinned(reference) ? [] : [`${nameOf(r)} deploys ${what} ${JSON.stringify(reference)}, a mutable tag in production stack ${stackOf(r.urn)}: ${PROMOTE}`];
    switch (r.type) {
        case types.pulledImage:
            return pinned("image", r.props.reference);
        case types.image:
            // berth's proxy: built on the host, or published under its content's hash for the hosts to pull.
            return r.props.registry === undefined || isBerthProxyImage(r.props) ? []
                : [`${nameOf(r)} builds and pushes ${r.props.repository}:${r.props.tag} in production stack ${stackOf(r.urn)}: ${PROMOTE}`];
        case types.container:
        case types.swarmService:
            return isAppContainer(r) ? pinned("image", r.props.image) : [];
        case types.dockerContainer:
            return pinned("image", r.props.image);
        case types.dockerRemoteImage:
            return pinned("image", r.props.name);
        default:
            return [];
    }
}

/** App replicas restart on their own, prove their health before taking traffic, and cannot eat the host's memory. */
export function appContainerFindings(r: ResourceView): string[] {
    if (!isAppContainer(r)) return [];
    const findings: string[] = [];
    if (!r.props.restart || r.props.restart === "no") {
        findings.push(`app container ${nameOf(r)} has no restart policy: set berth:restart to unless-stopped, always or on-failure[:N]`);
    }
    // A role without a healthcheck is gated by staying up (upSeconds, or on a swarm the update's monitor window) instead.
    const gatedByUptime = r.props.upSeconds > 0 || (r.type === types.swarmService && r.props.noHealthcheck === true && r.props.monitorSeconds > 0);
    if (!r.props.healthcheck && r.props.requireHealthcheck !== true && !gatedByUptime) {
        findings.push(`app container ${nameOf(r)} has no healthcheck: give the image a HEALTHCHECK or set berth:healthcheck`);
    }
    if (!(r.props.memoryBytes > 0)) {
        findings.push(`app container ${nameOf(r)} has no memory limit: set berth:memory (e.g. 512m)`);
    }
    return findings;
}

const isDockerSocket = (path: unknown) => typeof path === "string" && /(^|\/)docker\.sock$/.test(path);

/** Nothing gets the host: no Docker socket, no privileged mode, no host network. */
export function hostAccessFindings(r: ResourceView): string[] {
    const findings: string[] = [];
    const name = nameOf(r);
    const fix = "remove it; a container with it controls the whole host";
    if (r.type === types.container) {
        // berth's backup scheduler gets the socket where the stack has RabbitMQ or custom services (rabbitmqctl in the
        // broker, a paused copy of a volume): its role label is berth's alone (config refuses berth.* labels).
        const berthScheduler = r.props.labels?.[LABEL.role] === "backup";
        for (const v of r.props.volumes ?? []) if (isDockerSocket(v.source) && !berthScheduler) findings.push(`${name} mounts the Docker socket (${v.source}): ${fix}`);
        // berth's proxy and its services' ports listen on the host's network (so an engine restart drops nothing);
        // nothing else may. Their role labels are berth's alone: config refuses berth.* labels.
        const berthProxy = ["proxy", "port"].includes(r.props.labels?.[LABEL.role]);
        for (const n of r.props.networks ?? []) if (n.name === "host" && !berthProxy) findings.push(`${name} uses the host network: ${fix}; use the stack network`);
        if (r.props.privileged === true) findings.push(`${name} runs privileged: ${fix}`);
    }
    if (r.type === types.dockerContainer) {
        const mounts = [...(r.props.volumes ?? []).map((v: any) => v.hostPath), ...(r.props.mounts ?? []).map((m: any) => m.source)];
        for (const source of mounts) if (isDockerSocket(source)) findings.push(`${name} mounts the Docker socket (${source}): ${fix}`);
        if (r.props.networkMode === "host") findings.push(`${name} uses the host network: ${fix}; use a bridge network`);
        if (r.props.privileged === true) findings.push(`${name} runs privileged: ${fix}`);
    }
    return findings;
}

/** Dependency-service data in a stack that keeps its data cannot be deleted or replaced by a deploy. */
export function dataVolumeFindings(r: ResourceView): string[] {
    if (r.type !== types.volume || r.props.labels?.[LABEL.role] !== "data" || r.props.ephemeral === true || r.protect) return [];
    return [`data volume ${r.props.name} (${r.props.labels?.[LABEL.purpose] ?? "data"}) is not protected: declare it with \`protect: true\` (berth's DataVolume does, unless berth:ephemeral is true)`];
}

const CREDENTIAL_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)/i;
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;

/** `KEY=value` strings and maps, searched for credentials by name (…PASSWORD, …TOKEN) or shape (scheme://user:pass@). */
function credentialsIn(field: string, value: unknown): string[] {
    const entries: [string, unknown][] = Array.isArray(value)
        ? value.map((item) => (typeof item === "string" && item.includes("=") ? [item.slice(0, item.indexOf("=")), item.slice(item.indexOf("=") + 1)] : ["", item]))
        : value && typeof value === "object" ? Object.entries(value) : [["", value]];
    return entries
        .filter(([key, v]) => (CREDENTIAL_NAME.test(key) && v !== "") || (typeof v === "string" && URL_WITH_PASSWORD.test(v)))
        .map(([key]) => (key ? `${field}.${key}` : field));
}

/**
 * Registry logins and passwords only travel in the fields berth always encrypts (a container's env, a registry
 * login): a credential anywhere else (labels, commands, build args, image names) is plaintext in state, in
 * `docker inspect` and, for build args, in the image's history forever.
 */
export function credentialFindings(r: ResourceView): string[] {
    const fields: Record<string, string[]> = {
        // berth's containers run the image berth resolved (a digest): only what the user wrote can hold credentials.
        [types.container]: ["labels", "command"],
        [types.releaseGate]: ["labels", "command"],
        // A Swarm service's spec is readable by anyone with access to a manager: only plainEnv is meant to be plain.
        [types.swarmService]: ["labels", "command", "plainEnv"],
        [types.image]: ["buildArgs", "labels", "repository"],
        [types.pulledImage]: ["reference"],
        [types.dockerContainer]: ["labels", "command", "image"],
    };
    return (fields[r.type] ?? []).flatMap((field) => credentialsIn(field, r.props[field])).map((where) =>
        `${nameOf(r)} carries a credential in ${where}, which is never encrypted: pass it as a Pulumi secret ` +
        "(`pulumi config set --secret …`) through the service's environment or the registry login instead");
}
