#!/usr/bin/env bash
# Build the one-dir bundle into dist/prism-desktop; with --smoke, run it offscreen (GUI, CLI and a whole
# demo computation on the embedded sandbox) and hold it to the size budget.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRISM_EXTRAS=build source "$ROOT/packaging/setup-env.sh"
cd "$ROOT"
BUDGET_MB=150
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" packaging/prism-desktop.spec
size_mb=$(du -sm dist/prism-desktop | cut -f1)
echo "==> bundle: dist/prism-desktop (${size_mb} MB; budget ${BUDGET_MB} MB)"
if [ "${1:-}" = "--smoke" ]; then
  home=$(mktemp -d)
  trap 'rm -rf "$home"' EXIT
  export QT_QPA_PLATFORM=offscreen PRISM_HOME="$home"
  dist/prism-desktop/prism-desktop --smoke
  dist/prism-desktop/prism-desktop cli workspace list --json
  dist/prism-desktop/prism-desktop cli demo
  if [ "$size_mb" -gt "$BUDGET_MB" ]; then
    echo "==> the bundle is ${size_mb} MB, over the ${BUDGET_MB} MB budget" >&2
    exit 1
  fi
  echo "==> bundle smoke test passed"
fi
