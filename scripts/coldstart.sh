#!/usr/bin/env bash
# Measures Lambda cold starts locally: builds the functions, the hello-world baseline and the
# `coldstart` tool natively (release profile unless PROFILE is set), starts moto from
# .venv-moto (creating it with a pinned moto[server] if missing) on a free loopback port, runs
# every function --runs times as a fresh process against a local Runtime API, prints the table
# and writes target/coldstart.json.
# Region 72 is seeded first (dev build of the local host's CLI). Stops moto by its PID afterwards.
#
#   scripts/coldstart.sh                    # 21 runs per function
#   scripts/coldstart.sh --runs 5           # extra arguments go to `coldstart`
#   scripts/coldstart.sh --warm-invoke      # also time a second (warm) invocation per process
#   PROFILE=lambda-release scripts/coldstart.sh     # binaries built like the Lambda zips (opt-level z)
#
# Release builds of the AWS SDK take several minutes on a small machine. Figures are for this
# machine (native x86_64, page cache warm after one unmeasured warm-up run), not for Lambda.
set -euo pipefail
cd "$(dirname "$0")/.."

FUNCTIONS=(submit-message route-messages handle-messages reference-data notify escalate-overdue polls close-polls)
PACKAGES=()
for f in "${FUNCTIONS[@]}" hello-lambda coldstart; do PACKAGES+=(-p "$f"); done
PROFILE="${PROFILE:-release}"
echo "coldstart.sh: cargo build --profile $PROFILE ${PACKAGES[*]}"
cargo build --profile "$PROFILE" "${PACKAGES[@]}"

MOTO_VERSION="5.2.5"
VENV=".venv-moto"
# (pip's output is captured first: `pip show | grep -q` can fail under pipefail when grep exits early.)
INSTALLED=$("$VENV/bin/pip" show moto 2>/dev/null || true)
if [ ! -x "$VENV/bin/moto_server" ] || ! grep -qx "Version: $MOTO_VERSION" <<<"$INSTALLED"; then
  echo "coldstart.sh: installing moto[server]==$MOTO_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
LOG=$(mktemp -t moto.XXXXXX.log)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
MOTO_PID=$!
cleanup() { kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; rm -f "$LOG"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/moto-api/" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$MOTO_PID" 2>/dev/null; then echo "coldstart.sh: moto_server exited:"; cat "$LOG"; exit 1; fi
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/moto-api/" >/dev/null || { echo "coldstart.sh: moto_server did not start"; cat "$LOG"; exit 1; }
echo "coldstart.sh: moto_server $MOTO_VERSION on 127.0.0.1:$PORT (pid $MOTO_PID)"

# Reference data for region 72 (the region of the events' claims) in the table `coldstart` uses,
# so that first invocations do real work instead of refusing an unseeded region. Uses the local
# host's CLI (a dev build); if that fails the measurement still runs, with erroring invocations.
TABLE="feedback-coldstart" # = moto::TABLE in tools/coldstart
if cargo build --quiet -p feedback-local --bin feedback &&
  AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_REGION="eu-central-1" AWS_ACCESS_KEY_ID="test" AWS_SECRET_ACCESS_KEY="test" \
    target/debug/feedback seed-region --target aws --create-table --table "$TABLE" --region-file infra/regions/72-tyumen.toml; then
  echo "coldstart.sh: region 72 seeded into $TABLE"
else
  echo "coldstart.sh: WARNING: seeding region 72 failed; first invocations will report errors" >&2
fi

BINARIES=("target/$PROFILE/hello-lambda")
for f in "${FUNCTIONS[@]}"; do BINARIES+=("target/$PROFILE/$f"); done
"target/$PROFILE/coldstart" --runs 21 --endpoint "http://127.0.0.1:$PORT" --json target/coldstart.json "$@" "${BINARIES[@]}"
