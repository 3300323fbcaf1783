#!/usr/bin/env bash
# The one test command. Works on a fresh Debian machine that has only Node 20 + npm:
# installs pnpm (pinned in package.json "packageManager") and Debian's chromium if
# missing, installs dependencies, type-checks, then runs every Vitest project
# (core:node, core:chromium, e2e and consumer: the packed packages in a bundled scratch app).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
START_TS=$(date +%s)

log() { printf '\n==> %s\n' "$*"; }

# Run a command as root: directly if we are root, else through sudo when present.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "error: need root (or sudo) to run: $*" >&2
    return 1
  fi
}

# --- pnpm -------------------------------------------------------------------
PNPM_VERSION="$(node -e 'const pm = JSON.parse(require("fs").readFileSync("package.json", "utf8")).packageManager; process.stdout.write(pm.replace(/^pnpm@/, "").replace(/\+.*$/, ""))')"
PNPM=(pnpm)
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  # Installed into the project (.tools/, git-ignored), not globally: no root or sudo needed, and
  # nothing outside the checkout changes.
  if [ ! -x "$ROOT/.tools/node_modules/.bin/pnpm" ] || [ "$("$ROOT/.tools/node_modules/.bin/pnpm" --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
    log "installing pnpm@$PNPM_VERSION into .tools/"
    npm install --prefix "$ROOT/.tools" --no-save --no-audit --no-fund "pnpm@$PNPM_VERSION"
  fi
  PNPM=("$ROOT/.tools/node_modules/.bin/pnpm")
  export PATH="$ROOT/.tools/node_modules/.bin:$PATH"
fi
echo "pnpm $("${PNPM[@]}" --version)"

# --- chromium (Debian package; Playwright cannot download browsers here) ----
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
export CHROMIUM_PATH
if [ ! -x "$CHROMIUM_PATH" ] && [ "$CHROMIUM_PATH" = /usr/bin/chromium ]; then
  log "installing Debian chromium"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "error: no chromium at $CHROMIUM_PATH (set CHROMIUM_PATH or install Debian's chromium)" >&2
  exit 1
fi
echo "chromium: $CHROMIUM_PATH ($("$CHROMIUM_PATH" --version 2>/dev/null | tail -n 1 || echo 'version unknown'))"

# --- dependencies -----------------------------------------------------------
log "installing dependencies"
if [ -f pnpm-lock.yaml ]; then
  "${PNPM[@]}" install --frozen-lockfile
else
  "${PNPM[@]}" install
fi

# --- services ---------------------------------------------------------------
# A local Ceph RGW (S3-compatible, loopback only) for the end-to-end tests: scripts/rgw.sh installs
# Debian's Ceph if missing, starts it (about 3 s) and prints the export lines of S3_ENDPOINT,
# S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY and S3_BUCKET. If it cannot, the run fails
# here: the tests that need it never skip. An RGW that was already running (a developer's own) is
# reused and left running; one started here is stopped on exit, whatever happens.
RGW_STARTED_HERE=0
start_services() {
  log "starting Ceph RGW (scripts/rgw.sh)"
  if ! "$ROOT/scripts/rgw.sh" status; then RGW_STARTED_HERE=1; fi
  local exports
  if ! exports="$("$ROOT/scripts/rgw.sh" start)"; then
    echo "error: the local Ceph RGW could not be installed or started (messages above); the S3 tests need it." >&2
    exit 1
  fi
  eval "$exports"
  echo "S3_ENDPOINT=$S3_ENDPOINT S3_REGION=$S3_REGION S3_BUCKET=$S3_BUCKET"
}
stop_services() {
  if [ "$RGW_STARTED_HERE" -eq 1 ]; then "$ROOT/scripts/rgw.sh" stop || true; fi
}
trap stop_services EXIT

start_services

# --- checks -----------------------------------------------------------------
log "typecheck"
"${PNPM[@]}" run typecheck

log "build and smoke-test the packages as published"
"${PNPM[@]}" -r --if-present run build
PNPM="${PNPM[*]}" node scripts/smoke-dist.mjs

log "tests"
REPORT="$ROOT/test-results/vitest.json"
rm -f "$REPORT"
status=0
BUCKETSEAL_TEST_REPORT="$REPORT" "${PNPM[@]}" test || status=$?

# One plain summary line ("N passed, N failed") for whoever reads the log.
if [ -f "$REPORT" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // A test file that fails to load has no failed test in it: count it too.
    const failed = r.numFailedTests + (r.numFailedTests === 0 && !r.success ? Math.max(1, r.numFailedTestSuites) : 0);
    console.log(`\ntests: ${r.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
  ' "$REPORT"
fi
echo "scripts/test.sh finished in $(( $(date +%s) - START_TS ))s (exit $status)"
exit "$status"
