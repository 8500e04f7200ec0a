// berth's policy pack: `pulumi preview --policy-pack policy` (npm run check) and the PR workflow run it.
import { EnforcementLevel, PolicyPack, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { appContainerFindings, credentialFindings, dataVolumeFindings, hostAccessFindings, productionImageFindings, ResourceView } from "./rules";

const enforcementLevel: EnforcementLevel = "mandatory";

function view(args: ResourceValidationArgs): ResourceView {
    return { type: args.type, urn: args.urn, props: args.props, protect: args.opts.protect };
}

function policy(name: string, description: string, findings: (r: ResourceView, args: ResourceValidationArgs) => string[], extra: Partial<ResourceValidationPolicy> = {}): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel,
        validateResource: (args, reportViolation) => findings(view(args), args).forEach((message) => reportViolation(message)),
        ...extra,
    };
}

new PolicyPack("berth", {
    policies: [
        policy("production-images-pinned-by-digest", "Production deploys images by digest (repo@sha256:…), never by a mutable tag, and builds nothing.",
            (r, args) => productionImageFindings(r, args.getConfig<{ productionStacks: string[] }>().productionStacks), {
                configSchema: {
                    properties: { productionStacks: { type: "array", items: { type: "string" }, default: ["production"] } },
                },
            }),
        policy("app-containers-restart-healthcheck-memory", "Every app container has a restart policy, a healthcheck and a memory limit.", appContainerFindings),
        policy("no-host-access", "No container mounts the Docker socket, runs privileged or uses the host network.", hostAccessFindings),
        policy("data-volumes-protected", "Volumes holding dependency-service data are protected unless the stack is ephemeral.", dataVolumeFindings),
        policy("credentials-are-secrets", "Registry logins and passwords travel only as Pulumi secrets, never in plaintext fields.", credentialFindings),
    ],
});
