#!/usr/bin/env bash
# Runs the whole test suite: the infrastructure checks (template against the code, cfn-lint),
# unit, contract (SQLite and DynamoDB/SQS on moto), handler and scenario tests, then the
# deployment smoke test (the template deployed into moto), an Open311 client library and
# schemathesis against the local host. Pinned tools live in local venvs created on first use;
# moto runs on a free loopback port and is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

# Infrastructure: infra/template.yaml against the route table, the function crates and the table
# schema in code, then cfn-lint. Pinned tools in their own venv, created on first use.
# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
INFRA_VENV=".venv-infra"
ensure_venv test.sh "$INFRA_VENV" "cfn-lint==1.58.0 aws-sam-translator==1.115.0 PyYAML==6.0.4 boto3==1.44.8"
AWS_DEFAULT_REGION=eu-central-1 "$INFRA_VENV/bin/python" infra/check_template.py
scripts/checkov.sh  # the template's security posture: 0 failed checks, every skip with its reason

# shellcheck source=lib/moto.sh
source scripts/lib/moto.sh
start_moto test.sh

export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
export AWS_REGION="eu-central-1" AWS_ACCESS_KEY_ID="test" AWS_SECRET_ACCESS_KEY="test"

OUT=$(mktemp -t cargo-test.XXXXXX.log)
SOAK_FIGURES="${CARGO_TARGET_DIR:-target}/tmp/soak-figures.txt"  # written by local/tests/soak.rs
# Fault injection's figures (tests/tests/faults_embedded.rs): calls, faults, acknowledged and lost writes.
FAULT_FIGURES="${CARGO_TARGET_DIR:-target}/tmp/fault-figures.txt"
rm -f "$SOAK_FIGURES" "$FAULT_FIGURES"
set +e
cargo test --workspace --all-targets "$@" 2>&1 | tee "$OUT"
STATUS=${PIPESTATUS[0]}
set -e
[ ! -f "$SOAK_FIGURES" ] || cat "$SOAK_FIGURES"
read -r PASSED FAILED < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } } END { print p+0, f+0 }' "$OUT")
rm -f "$OUT"
[ ! -f "$FAULT_FIGURES" ] || cat "$FAULT_FIGURES"
if [ "$STATUS" -eq 0 ]; then
  # The deployment smoke test: the template deployed into moto, seeded, a message routed.
  if "$INFRA_VENV/bin/python" infra/smoke_moto.py; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    STATUS=1
  fi
  # An unmodified Open311 client library (georeport from PyPI) against the local host.
  if scripts/open311_client.sh; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    STATUS=1
  fi
  # API fuzzing: schemathesis on every operation of /v1/openapi.json, once per role.
  if scripts/schemathesis.sh; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    STATUS=1
  fi
fi
# The web portal end to end in headless Chromium; each of its tests counts in the tally.
E2E_OUT=$(mktemp -t e2e.XXXXXX.log)
set +e
scripts/e2e.sh 2>&1 | tee "$E2E_OUT"
E2E_STATUS=${PIPESTATUS[0]}
set -e
read -r E2E_PASSED E2E_FAILED < <(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$E2E_OUT" | tail -n 1) || true
rm -f "$E2E_OUT"
PASSED=$((PASSED + ${E2E_PASSED:-0}))
FAILED=$((FAILED + ${E2E_FAILED:-0}))
if [ "$E2E_STATUS" -ne 0 ]; then
  [ "${E2E_FAILED:-0}" -gt 0 ] || FAILED=$((FAILED + 1))
  STATUS=1
fi
echo "tests: ${PASSED:-0} passed, ${FAILED:-0} failed"
exit "$STATUS"
