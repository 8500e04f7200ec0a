#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the project's Pulumi CLI. Before an operation on a stack (up, preview, refresh,
# destroy) it recovers what a killed run left behind (scripts/recover.ts): a lock of a dead process, containers
# outside state, pending operations.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BERTH_ROOT"
case "${1:-}" in
  up|update|preview|pre|refresh|destroy|down)
    stack=""
    args=("$@")
    for i in "${!args[@]}"; do
      case "${args[$i]}" in
        --stack|-s) stack=${args[$((i + 1))]:-} ;;
        --stack=*) stack=${args[$i]#--stack=} ;;
      esac
    done
    [ -n "$stack" ] || stack=$(pulumi stack --show-name 2>/dev/null || true)
    [ -z "$stack" ] || node tools/register-typescript.js scripts/recover.ts "$stack"
    ;;
esac
exec pulumi "$@"
