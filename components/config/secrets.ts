// Which config keys are secrets, and that they stay secrets: required ones set, none in plain keys.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, ConfigErrors } from "./errors";
import { needsPassword } from "../serviceKinds";
import { BerthSettings } from "./types";
import { ENV_NAME } from "./fields";
import { isRemoteEngine } from "./hosts";

/**
 * Names of the secret config keys the stack needs: the registry's (to push a build, or for remote hosts to pull)
 * and each service's password where it has one (Redis too once other hosts reach it over the network).
 */
export function requiredSecrets(settings: BerthSettings): string[] {
    return [
        ...(settings.app.source.kind === "build" || settings.hosts.some(isRemoteEngine) ? ["registryPassword"] : []),
        ...settings.services.filter((s) => needsPassword(s.kind, settings.hosts.length)).map((s) => passwordKey(s.name)),
        ...(servesOwnCertificate(settings.app) ? ["tlsCertificate", "tlsPrivateKey"] : []),
        ...(settings.backups ? ["backupPassword", ...(settings.backups.sftp ? ["backupSshKey"] : [])] : []),
    ];
}

/** Whether the stack's own certificate pair (berth:tlsCertificate/tlsPrivateKey) is served: by its proxy, or by the front door with tls manual. */
export function servesOwnCertificate(app: Pick<BerthSettings["app"], "edge" | "ingress">): boolean {
    return app.edge.httpsPort > 0 || app.ingress?.tls === "manual";
}

/**
 * The stack's certificate (PEM, its chain after it) and private key, checked before anything changes: they must
 * parse, belong together and be valid now. Errors describe the certificate, never the key.
 */
export function checkTlsPair(certificate: string, privateKey: string, now = new Date()): { subject: string; validTo: Date } {
    let cert: crypto.X509Certificate;
    try {
        cert = new crypto.X509Certificate(certificate);
    } catch {
        throw new ConfigError("tlsCertificate", "(secret)", "not a PEM certificate (-----BEGIN CERTIFICATE----- …, the server's first, its chain after it)");
    }
    const described = `(secret: certificate for ${cert.subject.replace(/\n/g, ", ")}, valid ${cert.validFrom} to ${cert.validTo})`;
    let key: crypto.KeyObject;
    try {
        key = crypto.createPrivateKey(privateKey);
    } catch {
        throw new ConfigError("tlsPrivateKey", "(secret)", "not an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- …)");
    }
    if (!cert.checkPrivateKey(key)) throw new ConfigError("tlsPrivateKey", "(secret)", `it is not the key of berth:tlsCertificate ${described}`);
    const validTo = new Date(cert.validTo);
    if (validTo <= now) throw new ConfigError("tlsCertificate", described, "it has expired: renew it and set the new one");
    if (new Date(cert.validFrom) > now) throw new ConfigError("tlsCertificate", described, "it is not valid yet");
    return { subject: cert.subject, validTo };
}

export function passwordKey(serviceName: string): string {
    return `${serviceName.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase())}Password`;
}

/** How the stack's config holds a secret berth needs. */
export type SecretState = "missing" | "plaintext" | "secret";

/**
 * How `config` holds `key`. Which keys the engine handed over encrypted is known to Pulumi's SDK but not part of its
 * typed API (runtime/config's isConfigSecret); without it, a set value counts as secret.
 */
export function secretState(config: pulumi.Config, key: string): SecretState {
    if (config.getSecret(key) === undefined) return "missing";
    const isConfigSecret: ((fullKey: string) => boolean) | undefined = require("@pulumi/pulumi/runtime/config").isConfigSecret;
    return !isConfigSecret || isConfigSecret(`${config.name}:${key}`) ? "secret" : "plaintext";
}

/** What to do instead when a key berth reads as plain text was set as a secret. */
export const SECRET_ALTERNATIVES: Record<string, string> = {
    buildArgs: "build args are on docker build's command line and in the image's history (docker history) for anyone who pulls it: "
        + "give the app the value at run time as a secret variable (pulumi config set --secret --path 'berth:secretEnv.NAME' value), "
        + "or prepare what needs it before the build (e.g. vendor the private packages into the build context)",
    env: "berth:env is plain text in state and in docker inspect's command history: use berth:secretEnv for secret variables (pulumi config set --secret --path 'berth:secretEnv.NAME' value)",
    services: "a service's password is its own secret key (berth:<service>Password, e.g. berth:postgresPassword), given to the service and the app; other service settings are plain text",
};

/**
 * Keys berth reads as plain text must not be secrets: their value would land unencrypted in state, on a command line
 * or in an image. Refused naming each key and the alternative, never the value.
 */
export function checkNoSecretsInPlainKeys(keys: string[], isSecret: (key: string) => boolean, secretKeys: readonly string[]): void {
    const errors = keys.filter((key) => !secretKeys.includes(key) && isSecret(key)).map((key) =>
        new ConfigError(key, "(secret)", `berth reads this key as plain text, so a secret in it would not stay secret: ${SECRET_ALTERNATIVES[key] ?? "set it without --secret if it is not one"}`));
    if (errors.length > 0) throw new ConfigErrors(errors);
}

/** Whether the engine handed `key` over encrypted (false where the SDK cannot tell). */
export function isSecretConfig(config: pulumi.Config, key: string): boolean {
    const isConfigSecret: ((fullKey: string) => boolean) | undefined = require("@pulumi/pulumi/runtime/config").isConfigSecret;
    return isConfigSecret !== undefined && isConfigSecret(`${config.name}:${key}`);
}

/**
 * Fails naming every missing secret and how to set it, and any set in plaintext (readable in the stack's
 * config file, which lives in git): both before any resource is touched. The value itself is never printed.
 */
export function checkSecrets(settings: BerthSettings, stateOf: (key: string) => SecretState): void {
    const required = requiredSecrets(settings);
    const missing = required.filter((key) => stateOf(key) === "missing");
    if (missing.length > 0) {
        throw new ConfigError(missing[0], null,
            `missing secret${missing.length > 1 ? `s (${missing.map((k) => `berth:${k}`).join(", ")})` : ""}: set with \`pulumi config set --secret berth:${missing[0]}\``);
    }
    const plaintext = required.filter((key) => stateOf(key) === "plaintext");
    if (plaintext.length > 0) {
        throw new ConfigError(plaintext[0], "(hidden)",
            `stored in plaintext in the stack's config; encrypt it with \`pulumi config set --secret berth:${plaintext[0]}\``);
    }
}

/**
 * The names of `berth:secretEnv` (values are never read here): variable names, none also in `berth:env`, and the
 * object set as a secret (`pulumi config set --secret --path 'berth:secretEnv.NAME' value`).
 */
export function checkSecretEnv(names: string[], env: Record<string, string>, state: SecretState): string[] {
    if (names.length === 0) return [];
    if (state === "plaintext") {
        throw new ConfigError("secretEnv", "(hidden)", "stored in plaintext in the stack's config; set each value with `pulumi config set --secret --path 'berth:secretEnv.NAME' value`");
    }
    const invalid = names.find((name) => !ENV_NAME.test(name));
    if (invalid !== undefined) throw new ConfigError("secretEnv", invalid, "variable names are letters, digits and _, not starting with a digit");
    const both = names.find((name) => name in env);
    if (both !== undefined) throw new ConfigError("secretEnv", both, "also set in berth:env: keep each variable in one of them");
    return names;
}

/** Keys berth reads as Pulumi secrets (besides each service's password key). */
export const SECRET_KEYS = ["registryPassword", "tlsCertificate", "tlsPrivateKey", "secretEnv", "backupPassword", "backupSshKey"] as const;
