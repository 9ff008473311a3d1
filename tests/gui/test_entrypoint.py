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


EARLY_CLOSE_DRIVER = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from app.main import main
closed = []

def close_as_soon_as_shown():
    for window in app.topLevelWidgets():
        if window.isWindow() and window.isVisible():
            closed.append(window.windowTitle())
            window.close()

poll = QTimer()
poll.setInterval(1)
poll.timeout.connect(close_as_soon_as_shown)
poll.start()
code = main(["--home", sys.argv[1]])
print("exit", code, "closed", len(closed))
"""


def test_closing_the_window_while_the_workspace_opens_still_exits(tmp_path):
    # the window is closed at its first paint, long before the workspace is open: the app must
    # notice and exit instead of running on without a window
    result = subprocess.run([sys.executable, "-c", EARLY_CLOSE_DRIVER, str(tmp_path)], cwd=ROOT,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "exit 0 closed 1"


def test_smoke_builds_and_renders_the_main_window(tmp_path):
    result = run_app("--home", str(tmp_path), "--smoke")
    assert result.returncode == 0, result.stderr
    import re

    size = re.search(r"window (\d+)x(\d+) with 6 views rendered", result.stdout)
    assert size is not None, result.stdout
    assert int(size[1]) >= 800 and int(size[2]) >= 500


def test_at_must_be_an_iso_time(tmp_path):
    result = run_app("--home", str(tmp_path), "--smoke", "--at", "yesterday")
    assert result.returncode == 2
    assert "'yesterday' is not an ISO 8601 time" in result.stderr


def test_screenshot_states_what_it_shows(tmp_path):
    import json

    home = tmp_path / "home"
    populate_home(home, PASSPHRASE)
    target = tmp_path / "certs.png"
    result = run_app("--home", str(home), "--screenshot", str(target), "--view", "certificates",
                     "--at", "2024-06-01T12:00:00Z", env={"PRISM_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    state = json.loads(target.with_suffix(".json").read_text())
    assert state["view"] == "certificates" and state["workspace"] == "default"
    assert state["locked"] is False and "Keystore: unlocked" in state["status"]
    # three generated keys, the CA key and the keys of the two issued certificates
    assert state["rows"]["keys"] == 6 and state["rows"]["certificates"] == 3
    assert state["rows"]["audit"] == 13 and state["status"][2] == "Audit chain intact (13 events)"
    assert state["inspector"]["at"] == "2024-06-01T12:00:00+00:00"
