#!/usr/bin/env bash
# Browser suite of the console: starts `rota serve` on a free loopback port with a fresh
# database, drives Debian's chromium through playwright-core, saves screenshots.
# Usage: run.sh PATH_TO_ROTA SCREENSHOT_DIR
set -euo pipefail

ROTA=${1:?usage: run.sh PATH_TO_ROTA SCREENSHOT_DIR}
OUT=${2:?usage: run.sh PATH_TO_ROTA SCREENSHOT_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROTA=$(cd "$(dirname "$ROTA")" && pwd)/$(basename "$ROTA")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/*.png "$OUT"/history.csv "$OUT"/report.csv

# chromium, from Debian, when missing
if [[ ! -x /usr/bin/chromium ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "run.sh: /usr/bin/chromium is missing and installing it needs root" >&2
    exit 1
  fi
  echo "run.sh: installing chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

# playwright-core, pinned by package-lock.json
if [[ ! -d "$HERE/node_modules/playwright-core" ]]; then
  (cd "$HERE" && npm ci --no-audit --no-fund)
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
KEY="rota_e2e_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export ROTA_BOOTSTRAP_KEY=$KEY
# connectors seal their credentials with it; without it they answer 503 secret_key_missing
export ROTA_SECRET_KEY="e2e_secret_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
"$ROTA" serve --db "$WORK/rota.db" --listen "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "run.sh: rota serve exited early:" >&2
    cat "$OUT/server.log" >&2
    exit 1
  fi
  sleep 0.1
done

ROTA_URL="http://127.0.0.1:$PORT" ROTA_KEY="$KEY" E2E_OUT="$OUT" E2E_PROFILE="$WORK/profile" \
  node "$HERE/console.test.mjs"
