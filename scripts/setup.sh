#!/usr/bin/env bash
# Makes sure of everything berth needs on this machine. Idempotent: silent when all is in place,
# one line per stage that did work (with its duration). Safe to interrupt and rerun.
# BERTH_SETUP=remote (or `npm run setup -- --remote`): for stacks whose hosts are all remote, with a registry of
# their own: no local registry, no service stand-ins, and no root (a Docker engine that answers is used as it is;
# none is installed or started).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$BERTH_ROOT/scripts/env.sh"
source "$BERTH_ROOT/scripts/toolchain.sh"
source "$BERTH_ROOT/scripts/engine.sh"
export_berth_env
[ "${1:-}" != --remote ] || export BERTH_SETUP=remote
mkdir -p "$BERTH_CACHE/toolchain" "$BERTH_CACHE/secrets"
if [ ! -s "${PULUMI_CONFIG_PASSPHRASE_FILE:-/dev/null}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ]; then
  (umask 077; head -c 32 /dev/urandom | base64 >"$PULUMI_CONFIG_PASSPHRASE_FILE")
fi

run_stage "npm dependencies" ensure_node_modules
run_stage "Pulumi CLI v$PULUMI_VERSION" ensure_pulumi_cli
run_stage "Pulumi plugins" ensure_plugin_shims
run_stage "Docker engine" ensure_docker_engine
[ "${BERTH_SETUP:-}" = remote ] || run_stage "private registry" ensure_registry
run_stage "base images" ensure_base_images
[ "${BERTH_SETUP:-}" = remote ] || run_stage "service images" ensure_service_images
run_stage "Caddy v$CADDY_VERSION" ensure_caddy
run_stage "Caddy image" ensure_caddy_image
run_stage "extra CA certificates" ensure_extra_ca_certs
