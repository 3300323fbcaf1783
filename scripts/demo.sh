#!/usr/bin/env bash
# Starts the demo: the page, the presigning server and, unless S3_ENDPOINT is set, a local S3 store
# (Ceph RGW from Debian's packages, through scripts/rgw.sh). Works on a fresh Debian machine with
# only Node 20 and npm: installs the pinned pnpm into .tools/ and the dependencies first.
#
#   ./scripts/demo.sh                   local Ceph RGW (installed if missing; stopped on exit if started here)
#   S3_ENDPOINT=https://… S3_REGION=… S3_BUCKET=… S3_ACCESS_KEY_ID=… S3_SECRET_ACCESS_KEY=… ./scripts/demo.sh
#                                       any S3-compatible store (its CORS rules must allow the page's
#                                       origin, PUT and GET, and expose ETag)
#   PORT=8080 ./scripts/demo.sh         another port (default 5173)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"

# --- pnpm and dependencies (the version pinned in package.json, kept in .tools/ like scripts/test.sh) ---
PNPM="$ROOT/.tools/node_modules/.bin/pnpm"
want="$(node -p 'require("./package.json").packageManager.replace(/^pnpm@/, "").replace(/\+.*$/, "")')"
if [ "$("$PNPM" --version 2>/dev/null)" != "$want" ]; then
  echo "demo: installing pnpm@$want into .tools/" >&2
  npm install --prefix "$ROOT/.tools" --no-save --no-audit --no-fund "pnpm@$want" >&2
fi
"$PNPM" install --frozen-lockfile >&2

# --- the store -----------------------------------------------------------------------------------
if [ -z "${S3_ENDPOINT:-}" ]; then
  stop_rgw=0
  "$ROOT/scripts/rgw.sh" status || stop_rgw=1 # a store that was already running is left running
  if [ "$stop_rgw" -eq 1 ]; then trap '"$ROOT/scripts/rgw.sh" stop || true' EXIT; fi
  eval "$("$ROOT/scripts/rgw.sh" start)"
  export DEMO_STORE_LABEL="Ceph RGW on this machine (scripts/rgw.sh; data in RAM, gone when it stops)"
fi

# Not exec: the trap above must run when the server stops (Ctrl-C).
node "$ROOT/demo/start.mjs"
