#!/usr/bin/env bash
# Checks that an existing Open311 client library works unmodified against the local host: starts
# `feedback serve` on a free port with a fresh data directory, runs scripts/open311_client.py with
# georeport from PyPI (pinned, in its own venv created on first use), and stops the host by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=".venv-open311"
PINS="georeport==0.3.1 requests==2.34.2 xmltodict==0.14.2"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$PINS" ]; then
  echo "open311_client.sh: installing $PINS into $VENV"
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS
  echo "$PINS" >"$VENV/.pins"
fi

cargo build -q -p feedback-local --bin feedback
DATA=$(mktemp -d -t feedback-open311.XXXXXX)
LOG=$(mktemp -t feedback-open311.XXXXXX.log)
target/debug/feedback serve --addr 127.0.0.1:0 --data "$DATA" --region-file infra/regions/72-tyumen.toml \
  --schedule-every 1s >"$LOG" 2>&1 &
HOST_PID=$!
cleanup() {
  kill "$HOST_PID" 2>/dev/null || true
  wait "$HOST_PID" 2>/dev/null || true
  rm -rf "$DATA" "$LOG"
}
trap cleanup EXIT

URL=""
for _ in $(seq 1 300); do
  URL=$(sed -n 's/^feedback: listening on //p' "$LOG" | head -n 1)
  [ -n "$URL" ] && break
  kill -0 "$HOST_PID" 2>/dev/null || { echo "open311_client.sh: feedback exited:"; cat "$LOG"; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "open311_client.sh: feedback did not start"; cat "$LOG"; exit 1; }

"$VENV/bin/python" scripts/open311_client.py "$URL"
