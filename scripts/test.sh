#!/usr/bin/env bash
# `npm test`: type-check, then unit and integration tests; ends with one 'N passed, N failed' line.
#
# With no arguments the files run in two lanes side by side, each one file at a time (the integration tests spend
# most of their time waiting on engines, health checks and SSH, which leaves the 2 cores idle), then the files that
# need the machine to themselves:
#   hosts  files that drive the test hosts (they start, stop and reconfigure those engines, swarm mode included);
#   local  the unit tests, then the files that drive this machine's engine;
#   alone  files that restart this machine's engine, which every other file uses (it builds here).
# With arguments: exactly those files, one at a time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BERTH_ROOT"
mkdir -p .berth
tsc --noEmit -p .

# The files that drive the test hosts (they start, stop and reconfigure those engines, so one at a time). The other
# lane, this machine's files, ends well before it (measured: ~11 minutes of files against ~27).
HOSTS_LANE=(test/integration/servers.test.ts test/integration/frontDoor.test.ts test/integration/swarm.test.ts test/integration/policy.test.ts
  test/integration/engineFaults.test.ts test/integration/testHosts.test.ts test/integration/init.test.ts
  test/integration/backups.test.ts test/integration/teams.test.ts)
ALONE=(test/integration/zeroDowntime.test.ts)

# One vitest run writing its results to .berth/test-results-<name>.json; a lane's lines carry its name.
run_lane() {
  local name=$1; shift
  if [ "$name" = all ]; then
    vitest run --reporter=default --reporter=json --outputFile=".berth/test-results-$name.json" "$@"
  else
    vitest run --reporter=default --reporter=json --outputFile=".berth/test-results-$name.json" "$@" 2>&1 | sed -u "s/^/[$name] /"
  fi
}

rm -f .berth/test-results-*.json
rc=0
if [ $# -gt 0 ]; then
  run_lane all "$@" || rc=$?
else
  all=$(find test -name '*.test.ts' | sort)
  local_lane=()
  for file in $all; do
    [[ " ${HOSTS_LANE[*]} ${ALONE[*]} " == *" $file "* ]] || local_lane+=("$file")
  done
  started=$(date +%s)
  run_lane hosts "${HOSTS_LANE[@]}" & hosts_pid=$!
  run_lane local "${local_lane[@]}" || rc=$?
  wait "$hosts_pid" || rc=$?
  run_lane alone "${ALONE[@]}" || rc=$?
  echo "test files: $(( $(date +%s) - started )) s wall"
fi

node -e '
  const fs = require("fs");
  const runs = fs.readdirSync(".berth").filter((f) => /^test-results-.*\.json$/.test(f)).map((f) => [f.slice(13, -5), require("./.berth/" + f)]);
  // Per-file wall time, slowest first: where a run spends its minutes.
  const files = runs.flatMap(([lane, r]) => r.testResults.map((f) => ({ lane, seconds: (f.endTime - f.startTime) / 1000, name: f.name.replace(process.cwd() + "/", "") })));
  for (const f of files.sort((a, b) => b.seconds - a.seconds)) console.log(`${f.seconds.toFixed(1).padStart(7)} s  ${f.lane.padEnd(5)}  ${f.name}`);
  // The failed tests again, last, with the first lines of their errors: a log read from its tail names them.
  for (const [lane, r] of runs) for (const f of r.testResults) for (const t of f.assertionResults ?? []) {
    if (t.status !== "failed") continue;
    console.log(`FAILED [${lane}] ${f.name.replace(process.cwd() + "/", "")} > ${t.fullName}`);
    for (const line of (t.failureMessages ?? []).join("\n").split("\n").slice(0, 6)) console.log(`    ${line}`);
  }
  for (const [lane, r] of runs) for (const f of r.testResults) {
    if (f.status === "failed" && !(f.assertionResults ?? []).some((t) => t.status === "failed")) console.log(`FAILED [${lane}] ${f.name.replace(process.cwd() + "/", "")}: ${String(f.message).split("\n")[0]}`);
  }
  const sum = (key) => runs.reduce((n, [, r]) => n + r[key], 0);
  const expected = process.argv[1] === "all" ? 1 : 3;
  // A lane that crashed before writing its results must not read as green.
  const missing = expected - runs.length;
  console.log(`${sum("numPassedTests")} passed, ${sum("numFailedTests") + Math.max(missing, 0)} failed` + (sum("numPendingTests") ? `, ${sum("numPendingTests")} skipped` : ""));
' "$([ $# -gt 0 ] && echo all || echo lanes)" || echo "0 passed, 1 failed"
exit $rc
