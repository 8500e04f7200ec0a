#!/usr/bin/env bash
# Runs a command with the project's Pulumi environment, e.g. `npm run pulumi -- preview --stack staging`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$BERTH_ROOT/scripts/env.sh"
export_berth_env
[ -x "$TOOLCHAIN_BIN/pulumi" ] || die "the Pulumi CLI v$PULUMI_VERSION is not set up" "run 'npm run setup' first"
exec "$@"
