#!/usr/bin/env bash
# Quick start 2: set up and run the whole test suite (offscreen Qt; screenshot tests under Xvfb when present).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRISM_EXTRAS=test source "$ROOT/packaging/setup-env.sh"
cd "$ROOT"
export QT_QPA_PLATFORM=offscreen
exec "$VENV/bin/python" -m pytest "$@"
