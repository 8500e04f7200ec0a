# shellcheck shell=bash
# Shared settings for berth's scripts: where the toolchain lives and how stages report.
# Sourced, never run.

BERTH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Slow things (Go builds, the registry's data, generated credentials) live outside the clone,
# keyed by version, so a fresh clone on a warm machine reuses them.
BERTH_CACHE=${BERTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth}
BERTH_REGISTRY_PORT=${BERTH_REGISTRY_PORT:-5000}
BERTH_REGISTRY_USER=berth

# The Pulumi CLI must match the pinned @pulumi/pulumi; read the pin from the lockfile so there is one source of truth.
pulumi_sdk_version() {
  node -e 'const l=require(process.argv[1]);process.stdout.write(l.packages["node_modules/@pulumi/pulumi"].version)' \
    "$BERTH_ROOT/package-lock.json"
}

say() { printf 'berth: %s\n' "$*" >&2; }
die() {
  printf 'berth: error: %s\n' "$1" >&2
  [ -n "${2:-}" ] && printf 'berth:   what to do: %s\n' "$2" >&2
  exit 1
}

# run_stage NAME FUNCTION: silent when the stage finds everything in place, one line with its duration when it did work.
run_stage() {
  local name=$1 fn=$2 start out rc
  start=$(date +%s)
  out=$(mktemp)
  # A subshell outside any `if`/`||` keeps errexit in force inside the stage; errexit stays off out here.
  set +e
  (set -e; "$fn") >"$out" 2>&1
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    cat "$out" >&2
    rm -f "$out"
    die "setup stage '$name' failed (exit $rc); see the lines above" "fix the cause and rerun 'npm run setup' (it resumes where it stopped)"
  fi
  if [ -s "$out" ]; then
    sed 's/^/  /' "$out" >&2
    say "$name: done in $(( $(date +%s) - start ))s"
  fi
  rm -f "$out"
}
