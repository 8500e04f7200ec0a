# shellcheck shell=bash
# The project's Pulumi environment: its CLI, plugins, local backend and passphrase. Sourced after lib.sh.

PULUMI_VERSION=$(pulumi_sdk_version)
TOOLCHAIN_BIN="$BERTH_CACHE/toolchain/pulumi-v$PULUMI_VERSION/bin"

export_berth_env() {
  export PATH="$TOOLCHAIN_BIN:$BERTH_ROOT/node_modules/.bin:$PATH"
  export PULUMI_HOME="${PULUMI_HOME:-$BERTH_CACHE/pulumi-home}"
  export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$BERTH_ROOT/.pulumi-state}"
  # Plugins come from setup, never from an implicit download that would hang without internet.
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  export PULUMI_SKIP_UPDATE_CHECK=true
  # This machine's own passphrase opens the stacks of its own local backend only; a team's backend needs the team's
  # (PULUMI_CONFIG_PASSPHRASE or _FILE, README "Teams"): without it, every entry point stops naming the stack.
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ] && [ "$PULUMI_BACKEND_URL" = "file://$BERTH_ROOT/.pulumi-state" ]; then
    export PULUMI_CONFIG_PASSPHRASE_FILE="$BERTH_CACHE/secrets/local-stacks.passphrase"
  fi
  export BERTH_REGISTRY="127.0.0.1:$BERTH_REGISTRY_PORT"
  export BERTH_REGISTRY_USER
  export BERTH_REGISTRY_PASSWORD_FILE="$BERTH_CACHE/secrets/registry.password"
  export BERTH_EXTRA_CA_CERTS_FILE="$BERTH_CACHE/extra-ca-certs.pem"
  mkdir -p "$PULUMI_HOME"
  # A local backend's directory; a postgres:// or s3:// URL is no path (mkdir would make one named after it).
  case $PULUMI_BACKEND_URL in file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" 2>/dev/null || true ;; esac
}
