/**
 * Stack configuration: parsed and validated in pure functions before any resource exists, so bad input fails
 * `pulumi preview` with the key, the value and what is allowed, and changes nothing.
 */
export * from "./errors";
export * from "./types";
export * from "./fields";
export * from "./services";
export * from "./secrets";
export * from "./hosts";
export * from "./ingress";
export * from "./backups";
export * from "./stack";
export * from "./defaults";
