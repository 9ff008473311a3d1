"""Screenshots of every view under a real X server (Xvfb), saved for people to look at.

The PNGs go to $PRISM_SCREENSHOT_DIR when set (kept after the run), else to a tmp dir. Beside each
PNG the app writes what it shows (view, workspace, lock state, row counts) as JSON; the tests check
that content, the pixels only prove that something was painted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.gui.entrypoint_support import run_app
from tests.gui.helpers import PASSPHRASE
from tests.gui.populate import populate_home

XVFB = "/usr/bin/Xvfb"
VIEWS = ("keys", "certificates", "audit")
# what populate_home puts in "default": three keys plus the CA's and two issued certificates' keys,
# the CA and two certificates, and the audit events of all that
POPULATED_ROWS = {"keys": 6, "certificates": 3, "collateral": 0}


@pytest.fixture(scope="module")
def x_display() -> Iterator[str]:
    if not os.path.exists(XVFB):
        pytest.skip(f"{XVFB} is not installed (apt-get install xvfb) — screenshot tests need a real X server")
    read_end, write_end = os.pipe()
    server = subprocess.Popen([XVFB, "-displayfd", str(write_end), "-screen", "0", "1280x860x24",
                               "-nolisten", "tcp"], pass_fds=(write_end,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        if not number:
            pytest.skip("Xvfb started but did not report a display number")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def shot_dir(tmp_path_factory) -> Path:
    chosen = os.environ.get("PRISM_SCREENSHOT_DIR")
    directory = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def populated_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("shots") / "home"
    populate_home(home, PASSPHRASE)
    return home


def shown(target: Path) -> dict:
    """What the app reported it showed when it took the screenshot ``target``."""
    return json.loads(target.with_suffix(".json").read_text())


def _distinct_colours(image: QImage, step: int = 7) -> int:
    colours = set()
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            colours.add(image.pixel(x, y))
    return len(colours)


@pytest.mark.xvfb
@pytest.mark.parametrize("view", VIEWS)
def test_screenshot_of_each_view(view, x_display, shot_dir, populated_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(populated_home, home)  # each run appends to the audit log; keep views independent
    target = shot_dir / f"{view}.png"
    result = run_app("--home", str(home), "--screenshot", str(target), "--view", view,
                     env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": x_display, "PRISM_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    image = QImage(str(target))
    assert not image.isNull()
    assert image.width() >= 900 and image.height() >= 600
    assert target.stat().st_size > 20_000
    assert _distinct_colours(image) > 20, "the screenshot is (nearly) one colour"
    state = shown(target)
    assert state["view"] == view and state["workspace"] == "default"
    assert state["locked"] is False and state["status"][1] == "Keystore: unlocked"
    assert {k: state["rows"][k] for k in POPULATED_ROWS} == POPULATED_ROWS
    assert state["rows"]["audit"] >= 10 and state["status"][2].startswith("Audit chain intact")


@pytest.mark.xvfb
def test_screenshot_of_a_fresh_home(x_display, shot_dir, tmp_path):
    target = shot_dir / "first-start.png"
    result = run_app("--home", str(tmp_path / "home"), "--screenshot", str(target),
                     env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": x_display})
    assert result.returncode == 0, result.stderr
    assert _distinct_colours(QImage(str(target))) > 10
    state = shown(target)
    assert state["view"] == "keys" and state["workspace"] == "default"
    assert state["status"][1] == "Keystore: none yet"
    assert state["rows"] == {"keys": 0, "certificates": 0, "audit": 1, "collateral": 0}
