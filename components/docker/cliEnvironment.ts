/**
 * Names the docker CLI's own process (or what it starts: ssh, the dynamic loader, Go's runtime, a shell) reads from
 * its environment. A container variable whose value cannot travel in an env-file (multi-line, very long) reaches
 * the container through the CLI's environment (`--env NAME`), so under one of these names it would change how the
 * deploying machine's docker CLI runs (LD_PRELOAD loads a library into it): such a value is refused.
 */
const CLI_ENVIRONMENT = new RegExp("^(" + [
    "DOCKER_.*", "LD_.*", "DYLD_.*", "GCONV_PATH", "LOCPATH", "NLSPATH", "MALLOC_.*", "GLIBC_.*", "RES_OPTIONS",
    "HOSTALIASES", "LOCALDOMAIN", "TZDIR?", "LANG", "LANGUAGE", "LC_.*", "GO[A-Z0-9_]*", "SSH_.*", "PATH", "HOME",
    "USER", "LOGNAME", "SHELL", "TMPDIR", "TERM", "BASH_.*", "ENV", "IFS", "CDPATH", "PS4", "SHELLOPTS", "BASHOPTS",
    "GLOBIGNORE", "NODE_.*", "OPENSSL_.*", "SSL_CERT_.*", "(HTTPS?|NO|ALL)_PROXY", "(https?|no|all)_proxy",
].join("|") + ")$");

/**
 * Whether Docker's env-file reader returns `value` intact: a line break ends a value there, and it reads lines of
 * at most 64 KiB.
 */
export function fitsEnvFile(value: string): boolean {
    return !/[\r\n]/.test(value) && Buffer.byteLength(value) < 60_000;
}

/** The first variable of `env` whose value would have to travel under a name the docker CLI's process reads. */
export function cliEnvironmentClash(env: Record<string, string>): string | undefined {
    return Object.entries(env).find(([name, value]) => !fitsEnvFile(value) && CLI_ENVIRONMENT.test(name))?.[0];
}

/** Why a clash is refused, and what to do. */
export function cliEnvironmentClashReason(name: string): string {
    return `${name} holds a multi-line or very long value, which reaches the container only through the deploying docker CLI's own environment, where ${name} changes how that CLI (or the loader, ssh or shell it runs) works: use another name, or a one-line value`;
}
