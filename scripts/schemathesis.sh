#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis against a fresh `feedback serve`, from the OpenAPI document
# the host serves. It runs every operation once per role (anonymous, resident, official, moderator,
# admin, analyst) with a real token, and fails on any server error, any response that breaks its
# declared schema or content type, any status code the document does not declare, and any problem
# whose title, detail or field message is not Russian (scripts/lib/russian_problems.py).
# Usage: scripts/schemathesis.sh [--max-examples N]   (default 20 cases per operation and role)
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXAMPLES=20
if [ "${1:-}" = "--max-examples" ]; then MAX_EXAMPLES=$2; fi

# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
# shellcheck source=lib/host.sh
source scripts/lib/host.sh

VENV=".venv-api"
ensure_venv schemathesis.sh "$VENV" "schemathesis==4.32.5 openapi-spec-validator==0.9.0"
cargo build --quiet -p feedback-local --bin feedback
BIN=target/debug/feedback
start_host schemathesis.sh
URL=$HOST_URL
WORK=$HOST_DIR

curl -fsS "$URL/v1/openapi.json" -o "$WORK/openapi.json"
"$VENV/bin/openapi-spec-validator" "$WORK/openapi.json"

token() { "$BIN" token --data "$WORK/data" "$@"; }
declare -A TOKENS=(
  [anonymous]=""
  [citizen]=$(token --sub fuzz-citizen --role citizen --municipality tyumen --birthdate 1990-01-01)
  [official]=$(token --sub fuzz-official --role official --authority adm-tyumen)
  [moderator]=$(token --sub fuzz-moderator --role moderator)
  [admin]=$(token --sub fuzz-admin --role admin)
  [analyst]=$(token --sub fuzz-analyst --role analyst)
)

# The check that every problem speaks Russian, with the document's own words as its allowed Latin.
export PYTHONPATH="$PWD/scripts/lib" SCHEMATHESIS_HOOKS=russian_problems RUSSIAN_PROBLEMS_OPENAPI="$WORK/openapi.json"

TOTAL=0
OPERATIONS=0
STATUS=0
for role in anonymous citizen official moderator admin analyst; do
  args=()
  if [ -n "${TOKENS[$role]}" ]; then args=(-H "Authorization: Bearer ${TOKENS[$role]}"); fi
  echo "schemathesis.sh: $role"
  set +e
  "$VENV/bin/schemathesis" run "$URL/v1/openapi.json" --url "$URL" "${args[@]}" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,problems_speak_russian \
    --max-examples "$MAX_EXAMPLES" --seed 72 --workers 1 --no-shrink \
    --report json --report-json-path "$WORK/$role.json" >"$WORK/$role.log" 2>&1
  rc=$?
  set -e
  read -r cases tested total < <(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["test_cases"]["generated"], r["operations"]["tested"], r["operations"]["total"])' "$WORK/$role.json" 2>/dev/null || echo "0 0 0")
  echo "schemathesis.sh: $role: $cases cases, $tested of $total operations"
  if [ "${tested:-0}" -ne "${total:-1}" ]; then echo "schemathesis.sh: $role: not every operation was tested"; STATUS=1; fi
  if [ "$rc" -ne 0 ]; then STATUS=1; cat "$WORK/$role.log"; fi
  TOTAL=$((TOTAL + ${cases:-0}))
  OPERATIONS=${total:-0}
done
echo "schemathesis.sh: $TOTAL cases over ${OPERATIONS:-0} operations and 6 roles, $( [ "$STATUS" -eq 0 ] && echo passed || echo FAILED )"
exit "$STATUS"
