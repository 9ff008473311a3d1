#!/usr/bin/env bash
# Prepare a machine for Prism Desktop: Debian packages Qt needs, then a venv with the app installed.
# Sourced by run-app.sh and run-tests.sh; safe to run again (it only adds what is missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PRISM_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
EXTRAS="${PRISM_EXTRAS:-}"

# Qt's xcb/offscreen platform libraries, fonts, and Xvfb for real-window screenshots.
DEB_PACKAGES=(libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
  libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libxcb-xkb1 fonts-dejavu-core xvfb xauth)

missing_debs() {
  command -v dpkg-query >/dev/null 2>&1 || return 0
  local pkg
  for pkg in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || printf '%s\n' "$pkg"
  done
}

install_debs() {
  local missing
  missing=$(missing_debs)
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian packages: $(echo $missing | tr '\n' ' ')"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "==> these Debian packages are missing; Qt windows and screenshot tests need them:" >&2
    echo "    sudo apt-get install $(echo $missing | tr '\n' ' ')" >&2
    echo "    (continuing: offscreen tests still run; screenshot tests will be skipped)" >&2
  fi
}

make_venv() {
  "$PYTHON" - <<'PY' || { echo "Prism Desktop needs Python 3.11, 3.12 or 3.13 (set PYTHON=...)" >&2; exit 2; }
import sys
sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else 1)
PY
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV" || {
      echo "python venv is not available: sudo apt-get install python3-venv" >&2; exit 2; }
  fi
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  echo "==> installing prism-desktop${EXTRAS:+[$EXTRAS]} into the venv"
  "$VENV/bin/python" -m pip install -q -e "$ROOT${EXTRAS:+[$EXTRAS]}"
}

install_debs
make_venv
