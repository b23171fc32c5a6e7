#!/usr/bin/env bash
# Validates the open data with real tools against the local host: starts `feedback serve` on a
# free port with a fresh data directory, runs scripts/open_data_check.py (frictionless and the
# geojson package from PyPI, pinned, in their own venv created on first use) and stops the host
# by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
# shellcheck source=lib/host.sh
source scripts/lib/host.sh

VENV=".venv-open-data"
ensure_venv open_data.sh "$VENV" "frictionless==5.21.0 geojson==3.3.0 requests==2.34.2"
cargo build -q -p feedback-local --bin feedback
start_host open_data.sh

"$VENV/bin/python" scripts/open_data_check.py "$HOST_URL"
