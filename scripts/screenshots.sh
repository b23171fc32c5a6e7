#!/usr/bin/env bash
# Refreshes docs/screenshots/*.png: runs the end-to-end story (scripts/e2e.sh) against a fresh
# server, saving the main screens as it passes them.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f docs/screenshots/*.png
SCREENSHOTS_DIR=docs/screenshots scripts/e2e.sh
ls -1 docs/screenshots/*.png
