#!/usr/bin/env bash
# The one test command. Works on a fresh Debian machine that has only Node 20 + npm:
# installs pnpm (pinned in package.json "packageManager") and Debian's chromium, firefox-esr and
# WebKitGTK (webkit2gtk-driver, with xvfb) if missing, installs dependencies, type-checks, checks
# the built output against the support floor (docs/ENGINES.md) and each entry's size against its
# budget (scripts/size-budget.json), then runs every Vitest project
# (core:node, core:chromium, core:firefox, core:webkit, e2e and consumer: the packed packages in a
# bundled scratch app).
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

# --- browsers (Debian packages; Playwright cannot download browsers here) ---
# Chromium (driven by Playwright), Firefox ESR and WebKitGTK's MiniBrowser (started as processes,
# tests/support/spawn-provider.ts); MiniBrowser has no headless mode, so without a display it runs
# under xvfb-run (xvfb, xauth). Whatever is missing is installed with one apt-get update.
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
FIREFOX_PATH="${FIREFOX_PATH:-/usr/bin/firefox-esr}"
MINIBROWSER_PATH="${MINIBROWSER_PATH:-/usr/lib/$(uname -m)-linux-gnu/webkit2gtk-4.1/MiniBrowser}"
export CHROMIUM_PATH FIREFOX_PATH MINIBROWSER_PATH
missing=()
if [ ! -x "$CHROMIUM_PATH" ] && [ "$CHROMIUM_PATH" = /usr/bin/chromium ]; then missing+=(chromium); fi
if [ ! -x "$FIREFOX_PATH" ] && [ "$FIREFOX_PATH" = /usr/bin/firefox-esr ]; then missing+=(firefox-esr); fi
if [ ! -x "$MINIBROWSER_PATH" ] && [[ "$MINIBROWSER_PATH" == /usr/lib/*-linux-gnu/webkit2gtk-4.1/MiniBrowser ]]; then missing+=(webkit2gtk-driver); fi
if [ -z "${DISPLAY:-}" ]; then
  if ! command -v xvfb-run >/dev/null 2>&1; then missing+=(xvfb); fi
  if ! command -v xauth >/dev/null 2>&1; then missing+=(xauth); fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
for browser in "$CHROMIUM_PATH" "$FIREFOX_PATH" "$MINIBROWSER_PATH"; do
  if [ ! -x "$browser" ]; then
    echo "error: no browser at $browser (set CHROMIUM_PATH, FIREFOX_PATH or MINIBROWSER_PATH, or install Debian's chromium, firefox-esr and webkit2gtk-driver)" >&2
    exit 1
  fi
done
echo "chromium: $CHROMIUM_PATH ($("$CHROMIUM_PATH" --version 2>/dev/null | tail -n 1 || echo 'version unknown'))"
echo "firefox: $FIREFOX_PATH ($("$FIREFOX_PATH" --version 2>/dev/null | tail -n 1 || echo 'version unknown'))"
echo "webkit: $MINIBROWSER_PATH (WebKitGTK $(dpkg-query -W -f '${Version}' libwebkit2gtk-4.1-0 2>/dev/null || echo 'version unknown'))"

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

log "syntax of the built browser packages against the support floor (docs/ENGINES.md)"
node scripts/check-syntax-floor.mjs

log "size of every published entry against its budget (scripts/size-budget.json)"
node scripts/check-size.mjs

log "tests"
REPORT="$ROOT/test-results/vitest.json"
rm -f "$REPORT" "${REPORT%.json}.projects.json"
status=0
BUCKETSEAL_TEST_REPORT="$REPORT" "${PNPM[@]}" test || status=$?

# One plain summary line ("N passed, N failed", then each project's count and time) for whoever
# reads the log. The per-project file comes from tests/support/project-summary-reporter.ts.
if [ -f "$REPORT" ]; then
  node -e '
    const fs = require("fs");
    const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // A test file that fails to load has no failed test in it: count it too.
    const failed = r.numFailedTests + (r.numFailedTests === 0 && !r.success ? Math.max(1, r.numFailedTestSuites) : 0);
    let projects = "";
    if (fs.existsSync(process.argv[2])) {
      const p = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
      projects = Object.entries(p).map(([name, s]) => {
        const bad = s.failed + s.failedFiles;
        return `${name} ${s.passed} passed${bad ? `, ${bad} failed` : ""}${s.skipped ? `, ${s.skipped} skipped` : ""} (${Math.round(s.wallMs / 1000)}s)`;
      }).join("; ");
    }
    console.log(`\ntests: ${r.numPassedTests} passed, ${failed} failed, ${skipped} skipped${projects ? ` | ${projects}` : ""}`);
  ' "$REPORT" "${REPORT%.json}.projects.json"
fi
echo "scripts/test.sh finished in $(( $(date +%s) - START_TS ))s (exit $status)"
exit "$status"
