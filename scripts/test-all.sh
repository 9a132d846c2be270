#!/usr/bin/env bash
# The whole test run (npm test): system packages, node modules, the build (dist/), the real test services, typecheck
# (reported, not fatal), then every vitest suite with the services required. The last line printed is "N passed, N failed".
# Run as root on Debian 12; needs no stdin. Exit status is non-zero when anything failed.
set -uo pipefail
exec </dev/null
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive
OUT=$(mktemp -d)
T0=$SECONDS
summary() { echo "$1 passed, $2 failed"; }
step() { echo "== $* ($((SECONDS - T0)) s)"; }

step "system packages"
if ! bash scripts/install-system.sh; then
  echo "test-all: installing the system packages failed" >&2; summary 0 1; exit 1
fi

step "node modules"
# npm ci wipes node_modules; skip it when the installed tree is newer than the lockfile (LAKE_FORCE_NPM_CI=1 forces it).
if [ "${LAKE_FORCE_NPM_CI:-0}" = "1" ] || [ ! -f node_modules/.package-lock.json ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  if ! npm ci --no-audit --no-fund; then echo "test-all: npm ci failed" >&2; summary 0 1; exit 1; fi
else
  echo "node_modules is up to date with package-lock.json"
fi

step "build"
# dist/ (the bundle bin/lake.js runs, and its declarations); npm ci built it already when it ran, but the sources may
# be newer. Also the type check of src/.
if ! npm run build --silent; then echo "test-all: the build failed" >&2; summary 0 1; exit 1; fi

step "services"
STARTED=0
if bash scripts/services.sh status 2>/dev/null; then
  echo "reusing the running services"
else
  if ! bash scripts/services.sh start; then echo "test-all: the test services did not start" >&2; summary 0 1; exit 1; fi
  STARTED=1
fi
cleanup() { if [ "$STARTED" = 1 ]; then bash scripts/services.sh stop >/dev/null 2>&1 || true; STARTED=0; fi; }
trap cleanup EXIT

step "typecheck (reported, does not fail the run)"
if npx tsc -p . --noEmit >"$OUT/tsc.txt" 2>&1; then
  echo "typecheck: clean"
else
  echo "typecheck: $(grep -c 'error TS' "$OUT/tsc.txt") errors"; head -n 40 "$OUT/tsc.txt"
fi

step "tests"
set -a; . "${LAKE_SERVICES_DIR:-$ROOT/.services}/env"; set +a
export LAKE_REQUIRE_SERVICES=1
npx vitest run --reporter=default --reporter=json --outputFile="$OUT/vitest.json"
VITEST_RC=$?
step "done"

# Failed tests, plus files that failed without a failed test (import or suite errors), count as failures.
RESULT=$(node -e '
  const fs = require("node:fs");
  let r;
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch { console.log("0 1"); process.exit(0); }
  const fileErrors = (r.testResults || []).filter(
    (f) => f.status === "failed" && !(f.assertionResults || []).some((a) => a.status === "failed"),
  ).length;
  console.log(`${r.numPassedTests || 0} ${(r.numFailedTests || 0) + fileErrors}`);
' "$OUT/vitest.json")
read -r PASSED FAILED <<<"$RESULT"
if [ "$VITEST_RC" -ne 0 ] && [ "$FAILED" -eq 0 ]; then FAILED=1; fi
cleanup; trap - EXIT
summary "$PASSED" "$FAILED"
[ "$FAILED" -eq 0 ]
