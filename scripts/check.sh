#!/usr/bin/env bash
# `npm run check -- --stack <stack>`: the pull-request check, locally. Type-checks the program, then previews the
# stack with berth's policy pack and prints the full diff. Exits non-zero on a type error, invalid config, a
# policy violation or any preview error; changes nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$BERTH_ROOT/scripts/env.sh"
export_berth_env
cd "$BERTH_ROOT"

case " $* " in
  *" --stack "* | *" -s "* | *" --stack="*) ;;
  *) die "which stack?" "usage: npm run check -- --stack <stack> [more pulumi preview flags]" ;;
esac
[ -x "$TOOLCHAIN_BIN/pulumi" ] || die "the Pulumi CLI v$PULUMI_VERSION is not set up" "run 'npm run setup' first"

tsc --noEmit -p .
bash "$BERTH_ROOT/scripts/pulumi.sh" preview --diff --policy-pack policy --non-interactive "$@"
