#!/usr/bin/env bash
# Runs the whole test suite: ruff on the Python, the infrastructure checks (template against the
# code's manifest, cfn-lint with the stack's rules, checkov),
# unit, contract (SQLite and DynamoDB/SQS on moto), handler and scenario tests, then the
# deployment smoke test (the template deployed into moto), an Open311 client library, the open
# data's validation (frictionless, geojson) and schemathesis against the local host. Pinned tools live in local venvs created on first use;
# moto runs on a free loopback port and is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

# Infrastructure and the Python around it. Pinned tools in their own venv, created on first use.
# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
INFRA_VENV=".venv-infra"
ensure_venv test.sh "$INFRA_VENV" "cfn-lint==1.58.0 aws-sam-translator==1.115.0 PyYAML==6.0.4 boto3==1.44.8 ruff==0.17.6"
"$INFRA_VENV/bin/ruff" check .  # every Python file of the repository, ignored ones aside (ruff.toml)
# infra/template.yaml against what the code says a stack deploys (`feedback manifest --json`),
# the checker's negative self-tests with those of the stack's cfn-lint rules, then cfn-lint with
# those rules (.cfnlintrc) and checkov.
cargo build -q -p feedback-local --bin feedback
"$INFRA_VENV/bin/python" infra/check_template.py
INFRA_OUT=$(mktemp -t infra-tests.XXXXXX.log)
"$INFRA_VENV/bin/python" -m unittest discover -s infra -p 'test_*.py' 2>&1 | tee "$INFRA_OUT"
INFRA_TESTS=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in .*/\1/p' "$INFRA_OUT")
rm -f "$INFRA_OUT"
"$INFRA_VENV/bin/cfn-lint"
scripts/checkov.sh  # the template's security posture: 0 failed checks, every skip with its reason

# The real receivers the reach suites talk to: an SMTP server (aiosmtpd), a Standard Webhooks
# verifier (standardwebhooks) and a Web Push receiver that decrypts (http-ece, cryptography).
# The suites start them with this interpreter and fail loudly without it.
REACH_VENV=".venv-reach"
ensure_venv test.sh "$REACH_VENV" "aiosmtpd==1.4.6 standardwebhooks==1.1.0 http-ece==1.2.1 cryptography==46.0.3 pyjwt==2.10.1"
export FEEDBACK_TEST_PYTHON="$PWD/$REACH_VENV/bin/python"

# shellcheck source=lib/moto.sh
source scripts/lib/moto.sh
start_moto test.sh
MAIN_MOTO_PORT=$MOTO_PORT
# A second, nearly empty moto for the tests that read what SES and SNS sent from moto's model
# dump (`/moto-api/data.json`), which grows with everything the shared server holds.
start_moto test.sh-inspect
export MOTO_INSPECT_URL="http://127.0.0.1:$MOTO_PORT"

export AWS_ENDPOINT_URL="http://127.0.0.1:$MAIN_MOTO_PORT"
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
PASSED=$((PASSED + ${INFRA_TESTS:-0}))
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
  # The open data validated with real tools: frictionless on the Data Package and both of its
  # resources, the geojson package on the GeoJSON (RFC 7946), against a seeded local host.
  if scripts/open_data.sh; then
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
