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

# shellcheck source=lib/moto.sh
source scripts/lib/moto.sh
start_moto coldstart.sh
PORT=$MOTO_PORT

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
