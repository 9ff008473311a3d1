#!/usr/bin/env bash
# Quick start 1: set up and run Prism Desktop (embedded default workspace, keys and local CA offline).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/packaging/setup-env.sh"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-}" != offscreen ]; then
  echo "==> no display found: running the app's offscreen self-check instead (prism-desktop --smoke)"
  QT_QPA_PLATFORM=offscreen exec "$VENV/bin/prism-desktop" --smoke "$@"
fi
exec "$VENV/bin/prism-desktop" "$@"
