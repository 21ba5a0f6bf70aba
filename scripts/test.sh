#!/usr/bin/env bash
# `npm test`: every check and test — lint, types, layer rules, unit and integration tests.
# The integration tests' global setup starts (and stops) a local AWS endpoint when none is configured.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/ensure-node.sh
echo "== node $(node -v), npm $(npm -v)"
bash scripts/install.sh
echo "== lint (biome)"
npx biome ci .
echo "== types (tsc)"
npx tsc -p tsconfig.json --noEmit
echo "== layer rules (dependency-cruiser)"
npx depcruise src test --exclude "^test/fixtures" --config .dependency-cruiser.cjs --output-type err
echo "== build"
npx tsc -p tsconfig.build.json
echo "== infra (install, types, cdk synth + cdk-nag, tests)"
bash infra/install.sh
( cd infra && npx tsc -p tsconfig.json && npx cdk synth -q && npx vitest run )
echo "== tests (vitest: unit, integration)"
mkdir -p .emulator
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=.emulator/vitest-results.json "$@"
rc=$?
set -e
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(".emulator/vitest-results.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  // A file that fails to load counts no failed test: count it as one, so the summary never reads clean.
  const unloaded = r.testResults.filter(
    (f) => f.status === "failed" && f.assertionResults.every((a) => a.status !== "failed"),
  ).length;
  const failed = r.numFailedTests + unloaded;
  console.log(`vitest: ${r.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
  if (failed > 0) process.exit(1);
' || rc=1
exit $rc
