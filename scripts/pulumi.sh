#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the project's Pulumi CLI. Before an operation on a stack (up, preview, refresh,
# destroy) it checks the passphrase opens the stack's secrets and recovers what a killed run left behind
# (scripts/recover.ts): a lock of a dead process, containers outside state, pending operations; on a team's Postgres
# backend it keeps the run's lock alive; an update's message says who ran it.
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
    # (npm start recovers before it sets the dev stack's secrets, and says so: BERTH_RECOVERED=dev.)
    [ -z "$stack" ] || [ "${BERTH_RECOVERED:-}" = "$stack" ] || node tools/register-typescript.js scripts/recover.ts "$stack"
    # A team's Postgres backend: a heartbeat on this run's lock, so other machines can tell it from a dead run's.
    # ($$ is the Pulumi CLI's pid once exec'd.)
    case ${PULUMI_BACKEND_URL:-} in
      postgres://*|postgresql://*) [ -z "$stack" ] || (node tools/register-typescript.js scripts/stateLocks.ts heartbeat "$stack" $$ </dev/null >/dev/null 2>&1 &) ;;
    esac
    # Who ran an update, for `npm run history` (Pulumi records the commit's author only), unless a message is given.
    case "$1 $*" in
      preview*|pre*|*" -m "*|*" --message"*) ;;
      *) set -- "$@" --message "$(node tools/register-typescript.js scripts/history.ts message)" ;;
    esac
    ;;
esac
exec pulumi "$@"
