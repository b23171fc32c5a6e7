#!/usr/bin/env bash
# Checks that an existing Open311 client library works unmodified against the local host: starts
# `feedback serve` on a free port with a fresh data directory, runs scripts/open311_client.py with
# georeport from PyPI (pinned, in its own venv created on first use), and stops the host by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
# shellcheck source=lib/host.sh
source scripts/lib/host.sh

VENV=".venv-open311"
ensure_venv open311_client.sh "$VENV" "georeport==0.3.1 requests==2.34.2 xmltodict==0.14.2"
cargo build -q -p feedback-local --bin feedback
start_host open311_client.sh

"$VENV/bin/python" scripts/open311_client.py "$HOST_URL"
