#!/usr/bin/env bash
# `npm test`: type-check, then unit and integration tests; ends with one 'N passed, N failed' line.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BERTH_ROOT"
mkdir -p .berth
tsc --noEmit -p .
rc=0
vitest run --reporter=default --reporter=json --outputFile=.berth/test-results.json "$@" || rc=$?
node -e '
  const r = require("./.berth/test-results.json");
  // Per-file wall time, slowest first: where a run spends its minutes.
  for (const f of [...r.testResults].sort((a, b) => (b.endTime - b.startTime) - (a.endTime - a.startTime))) {
    console.log(`${((f.endTime - f.startTime) / 1000).toFixed(1).padStart(7)} s  ${f.name.replace(process.cwd() + "/", "")}`);
  }
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || echo "0 passed, 1 failed"
exit $rc
