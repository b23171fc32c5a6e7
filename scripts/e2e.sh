#!/usr/bin/env bash
# End-to-end tests of the web portal in headless Chromium (Debian's `chromium`, driven by
# playwright-core from web/package-lock.json) against `feedback serve` with a fresh data folder.
#
#   scripts/e2e.sh                 # build web/dist and the binary, serve, run web/e2e/run.mjs
#   SCREENSHOTS_DIR=docs/screenshots scripts/e2e.sh   # the same run also saves the main screens
#
# Fails loudly when Chromium or Node is missing: the suite never skips. Prints
# "e2e: N passed, M failed" (scripts/test.sh adds it to its tally). The server is stopped by
# its PID and its data folder removed, whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM_PATH" ] || {
  echo "e2e.sh: Chromium is missing at $CHROMIUM_PATH; install it with: apt-get install -y chromium" >&2
  echo "e2e: 0 passed, 1 failed"
  exit 1
}
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
  echo "e2e.sh: node and npm are required (Node >= 20.19)" >&2
  echo "e2e: 0 passed, 1 failed"
  exit 1
}

# Dependencies exactly as locked; reinstalled only when the lockfile changed.
if [ ! -f web/node_modules/.package-lock.json ] || ! cmp -s web/package-lock.json web/node_modules/.lock-copy; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  cp web/package-lock.json web/node_modules/.lock-copy
fi
(cd web && npm run --silent build >/dev/null)
cargo build --quiet -p feedback-local

# shellcheck source=lib/host.sh
source scripts/lib/host.sh
# --allow-local-push: the suite's stubbed browser subscribes with a loopback endpoint;
# --allow-local-webhooks: the webhook admin test's receiver listens on 127.0.0.1;
# --tiles-url: the maps' tiles come from the suite's fixture (web/e2e/run.mjs answers them), never
# from a tile provider on the internet.
start_host e2e.sh --allow-local-push --allow-local-webhooks --tiles-url 'http://127.0.0.1:9/tiles/{z}/{x}/{y}.png'
BASE_URL=$HOST_URL
LOG="$HOST_DIR/serve.log"

set +e
(cd web && BASE_URL="$BASE_URL" FEEDBACK_BIN="$PWD/../target/debug/feedback" CHROMIUM_PATH="$CHROMIUM_PATH" SCREENSHOTS_DIR="${SCREENSHOTS_DIR:+$PWD/../$SCREENSHOTS_DIR}" node e2e/run.mjs)
STATUS=$?
set -e
if [ "$STATUS" -ne 0 ]; then
  echo "e2e.sh: server log (last 40 lines):" >&2
  tail -n 40 "$LOG" >&2
fi
exit "$STATUS"
