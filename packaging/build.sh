#!/usr/bin/env bash
# Build the one-dir bundle into dist/prism-desktop; with --smoke, run it offscreen and report its size.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRISM_EXTRAS=build source "$ROOT/packaging/setup-env.sh"
cd "$ROOT"
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" packaging/prism-desktop.spec
echo "==> bundle: dist/prism-desktop ($(du -sh dist/prism-desktop | cut -f1))"
if [ "${1:-}" = "--smoke" ]; then
  home=$(mktemp -d)
  trap 'rm -rf "$home"' EXIT
  QT_QPA_PLATFORM=offscreen PRISM_HOME="$home" dist/prism-desktop/prism-desktop --smoke
  QT_QPA_PLATFORM=offscreen PRISM_HOME="$home" dist/prism-desktop/prism-desktop cli workspace list --json
  echo "==> bundle smoke test passed"
fi
