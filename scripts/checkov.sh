#!/usr/bin/env bash
# Static security checks of infra/template.yaml with a pinned checkov in its own venv, created on
# first use. Fails on any failed check, on a suppression without a reason and on a template that
# checkov could not parse. A check the template does not meet on purpose is skipped on the
# resource itself (Metadata: checkov: skip: - id: CKV_…, comment: the reason); docs/deploy.md
# lists them. Offline: nothing is downloaded from checkov's platform.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
CHECKOV_VENV=".venv-checkov"
ensure_venv checkov.sh "$CHECKOV_VENV" "checkov==3.3.30"

TEMPLATE="infra/template.yaml"
REPORT=$(mktemp -t checkov.XXXXXX.json)
trap 'rm -f "$REPORT"' EXIT
# Exit status 1 only says that some check failed; the report below says which.
"$CHECKOV_VENV/bin/checkov" --file "$TEMPLATE" --framework cloudformation --skip-download \
  --output json >"$REPORT" || true

"$CHECKOV_VENV/bin/python" - "$REPORT" "$TEMPLATE" <<'EOF'
import json
import sys
from collections import Counter

path, template = sys.argv[1], sys.argv[2]
try:
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
except (OSError, json.JSONDecodeError) as e:
    sys.exit(f"checkov.sh: no JSON report from checkov: {e}")
summary = report.get("summary") or {}
results = report.get("results") or {}
failed = results.get("failed_checks") or []
skipped = results.get("skipped_checks") or []
unexplained = [
    c for c in skipped
    if not (c.get("check_result") or {}).get("suppress_comment", "").strip()
    or (c.get("check_result") or {}).get("suppress_comment", "").strip().lower() == "no comment provided"
]
for c in failed:
    print(f"checkov.sh: FAILED {c.get('check_id')} on {c.get('resource')}: {c.get('check_name')}", file=sys.stderr)
for c in unexplained:
    print(f"checkov.sh: {c.get('check_id')} is skipped on {c.get('resource')} without a reason", file=sys.stderr)
by_id = Counter(c.get("check_id") for c in skipped)
print(
    f"checkov {summary.get('checkov_version', '?')}: {template}: {summary.get('resource_count', 0)} resources, "
    f"{summary.get('passed', 0)} checks passed, {summary.get('failed', 0)} failed, "
    f"{summary.get('skipped', 0)} skipped with a reason in the template "
    f"({', '.join(f'{k} x{n}' for k, n in sorted(by_id.items()))})"
)
problems = []
if summary.get("parsing_errors"):
    problems.append(f"{summary['parsing_errors']} parsing error(s)")
if not summary.get("resource_count"):
    problems.append("no resources scanned")
if failed:
    problems.append(f"{len(failed)} failed check(s)")
if unexplained:
    problems.append(f"{len(unexplained)} suppression(s) without a reason")
if problems:
    sys.exit("checkov.sh: " + "; ".join(problems))
EOF
