"""Screenshots of the Attestation Inspector under Xvfb: an authentic report and failing ones.

Saved beside the other screenshots ($PRISM_SCREENSHOT_DIR when set, else a tmp dir). Each is taken
at the evidence's capture date (``--at``) so it shows what was wrong with the evidence, not that its
certificates have expired since; the JSON the app writes beside it says which checks failed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.gui.entrypoint_support import run_app
from tests.gui.inspector_support import MSTAV_CAPTURE, mstav_files, real_set, write_policy
from tests.gui.test_screenshots import _distinct_colours, shot_dir, shown, x_display  # noqa: F401

# the banner's background colours (app/views/widgets/verdict_banner.py)
GREEN, AMBER, RED = 0xE6F4EA, 0xFFF4D6, 0xFDECEA
# when the evidence was captured (the day its source last changed, see each set's PROVENANCE.txt)
VLEK_CAPTURE = datetime(2023, 11, 24, tzinfo=timezone.utc)     # the VLEK expired 2024-07-19
GOSEVGUEST_CAPTURE = datetime(2022, 9, 24, 12, tzinfo=timezone.utc)


def _failed(target: Path) -> list[str]:
    return [check for check, status in shown(target)["inspector"]["checks"] if status == "fail"]


def _shoot(target: Path, display: str, home: Path, files: list[Path], at: datetime) -> QImage:
    args = ["--home", str(home), "--screenshot", str(target), "--view", "inspector", "--at", at.isoformat()]
    for path in files:
        args += ["--evidence", str(path)]
    result = run_app(*args, env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": display})
    assert result.returncode == 0, result.stderr
    image = QImage(str(target))
    assert not image.isNull() and image.width() >= 900 and image.height() >= 600
    assert _distinct_colours(image) > 20
    state = shown(target)
    assert state["view"] == "inspector" and state["inspector"]["at"] == at.isoformat()
    return image


def _has_colour(image: QImage, rgb: int, step: int = 5) -> bool:
    return any(image.pixel(x, y) & 0xFFFFFF == rgb
               for y in range(0, image.height() // 2, step) for x in range(0, image.width(), step))


@pytest.mark.xvfb
def test_screenshot_of_an_authentic_report(x_display, shot_dir, tmp_path):  # noqa: F811
    report, certs = mstav_files()
    target = shot_dir / "inspector-authentic.png"
    image = _shoot(target, x_display, tmp_path / "home", [report, *certs], MSTAV_CAPTURE)
    assert _has_colour(image, GREEN) and not _has_colour(image, RED)
    assert shown(target)["inspector"]["state"] == "ok" and _failed(target) == []


@pytest.mark.xvfb
def test_screenshot_of_a_forged_report(x_display, shot_dir, tmp_path):  # noqa: F811
    folder = real_set("constellation_vlek_milan_v2_MISMATCH")
    target = shot_dir / "inspector-failing.png"
    image = _shoot(target, x_display, tmp_path / "home",
                   [folder / "report.bin", folder / "vlek.pem", folder / "vlek_cert_chain.pem"], VLEK_CAPTURE)
    assert _has_colour(image, RED) and not _has_colour(image, GREEN)
    state = shown(target)["inspector"]
    assert state["state"] == "bad" and state["title"] == "NOT authentic: do not trust this evidence"
    # at its capture date only the forged signature fails, not the VLEK's later expiry
    assert _failed(target) == ["snp.signature"]


@pytest.mark.xvfb
def test_screenshot_of_a_debug_guest_under_a_no_debug_policy(x_display, shot_dir, tmp_path):  # noqa: F811
    folder = real_set("gosevguest_milan_v2_vcek")
    policy = write_policy(tmp_path)
    target = shot_dir / "inspector-policy-failing.png"
    image = _shoot(target, x_display, tmp_path / "home",
                   [folder / "report.bin", folder / "vcek.der", folder / "cert_chain.pem", policy],
                   GOSEVGUEST_CAPTURE)
    # authentic but against the policy: as red as forged evidence (send nothing), titled apart
    assert _has_colour(image, RED) and not _has_colour(image, AMBER) and not _has_colour(image, GREEN)
    state = shown(target)["inspector"]
    assert state["state"] == "unacceptable"
    assert state["title"] == "Authentic, but NOT acceptable under the policy"
    assert "policy.debug" in _failed(target) and not any(c.startswith("snp.") for c in _failed(target))
