"""``prism-desktop`` as a user starts it: --smoke and --screenshot in a subprocess (offscreen)."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtGui import QImage

from tests.gui.entrypoint_support import ROOT, run_app
from tests.gui.helpers import PASSPHRASE
from tests.gui.populate import populate_home


def test_smoke_creates_the_default_workspace_and_exits_0(tmp_path):
    result = run_app("--home", str(tmp_path / "home"), "--smoke")
    assert result.returncode == 0, result.stderr
    assert "smoke ok: workspace 'default'" in result.stdout
    assert "1 audit events, keystore missing" in result.stdout
    assert (tmp_path / "home" / "workspaces" / "default").is_dir()


def test_smoke_runs_without_a_keyring(tmp_path):
    result = run_app("--home", str(tmp_path), "--smoke",
                     env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert result.returncode == 0, result.stderr


def test_unknown_workspace_exits_2_with_a_message(tmp_path):
    result = run_app("--home", str(tmp_path), "--workspace", "nope", "--smoke")
    assert result.returncode == 2
    assert "no workspace named 'nope'" in result.stderr


def test_broken_store_exits_non_zero_with_a_message(tmp_path):
    workspace = tmp_path / "workspaces" / "default"
    assert run_app("--home", str(tmp_path), "--smoke").returncode == 0
    (workspace / "workspace.sqlite").write_bytes(b"this is not a database" * 100)
    result = run_app("--home", str(tmp_path), "--smoke")
    assert result.returncode != 0
    assert result.stderr.startswith("prism-desktop: ") and "Traceback" not in result.stderr


def test_screenshot_writes_a_png_of_the_unlocked_window(tmp_path):
    home = tmp_path / "home"
    populate_home(home, PASSPHRASE)
    target = tmp_path / "keys.png"
    result = run_app("--home", str(home), "--screenshot", str(target), "--view", "keys",
                     env={"PRISM_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    image = QImage(str(target))
    assert not image.isNull() and image.width() >= 800 and image.height() >= 500
    assert target.stat().st_size > 10_000


CLOSE_DRIVER = """
import asyncio, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from app import asyncio_support
from app.main import main
state = {}

async def long_running():
    try:
        await asyncio.sleep(100)
    except asyncio.CancelledError:
        state["cancelled"] = True
        raise

def start_then_close():
    asyncio_support.spawn(long_running())
    QTimer.singleShot(200, lambda: [w.close() for w in app.topLevelWidgets() if w.isWindow()])

QTimer.singleShot(800, start_then_close)
code = main(["--home", sys.argv[1]])
print("exit", code, "cancelled", state.get("cancelled"), "pending", len(asyncio_support.pending_tasks()))
"""


def test_closing_the_window_cancels_pending_work_and_exits_0(tmp_path):
    result = subprocess.run([sys.executable, "-c", CLOSE_DRIVER, str(tmp_path)], cwd=ROOT,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "exit 0 cancelled True pending 0"
