"""Run ``prism-desktop`` (python -m app.main) in a subprocess the way a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_app(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "PRISM_PASSPHRASE"}
    environment.update({"QT_QPA_PLATFORM": "offscreen", **(env or {})})
    return subprocess.run([sys.executable, "-m", "app.main", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=timeout)
