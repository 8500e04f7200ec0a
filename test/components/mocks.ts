/**
 * Pulumi mocks for component tests: every resource the program registers is recorded with its inputs (secrets
 * unwrapped), and berth's Docker resources answer with the outputs their providers would give.
 */
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
    type: string;
    name: string;
    inputs: any;
}

const SECRET_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A value with Pulumi's wire envelopes of secrets removed; `onSecret` hears the path of each secret found. */
export function unwrapSecrets(value: any, onSecret: (where: string) => void = () => undefined, where = ""): any {
    if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, onSecret, `${where}[${i}]`));
    if (value && typeof value === "object") {
        if (value[SECRET_KEY] === SECRET_SIG) {
            onSecret(where);
            return unwrapSecrets(value.value, onSecret, where);
        }
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v, onSecret, `${where}.${k}`)]));
    }
    return value;
}

/** The digest mocked images get. */
export const MOCK_DIGEST = `sha256:${"b".repeat(64)}`;

/** Sets the mocks, recording into `registered`; `extraOutputs` adds outputs for a resource type. */
export function recordResources(registered: Registered[], options: { onSecret?: (where: string) => void; extraOutputs?: (type: string, inputs: any) => Record<string, unknown> } = {}): void {
    pulumi.runtime.setMocks({
        newResource(args) {
            registered.push({ type: args.type, name: args.name, inputs: unwrapSecrets(args.inputs, options.onSecret, args.name) });
            const inputs = unwrapSecrets(args.inputs);
            const outputs: Record<string, unknown> = { ...inputs };
            if (args.type.endsWith("DockerImage")) outputs.imageRef = `${inputs.repository}@${MOCK_DIGEST}`;
            if (args.type.endsWith("PulledImage")) outputs.imageRef = inputs.reference;
            if (args.type.endsWith("DockerContainer")) outputs.name = `${inputs.namePrefix}-000000`;
            if (args.type.endsWith("ReleaseHistory")) Object.assign(outputs, { releases: [inputs.imageRef], previous: "" });
            Object.assign(outputs, options.extraOutputs?.(args.type, inputs) ?? {});
            return { id: `${args.name}-id`, state: outputs };
        },
        call: (args) => args.inputs,
    }, "berth", "unit", true);
}

export { configWithDefaults } from "../../components/config/defaults";
