"""Screenshots of the Attestation Inspector under Xvfb: an authentic report and failing ones.

Saved beside the other screenshots ($PRISM_SCREENSHOT_DIR when set, else a tmp dir).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.gui.entrypoint_support import run_app
from tests.gui.inspector_support import mstav_files, real_set, write_policy
from tests.gui.test_screenshots import _distinct_colours, shot_dir, x_display  # noqa: F401 - fixtures

# the banner's background colours (app/views/widgets/verdict_banner.py)
GREEN, AMBER, RED = 0xE6F4EA, 0xFFF4D6, 0xFDECEA


def _shoot(target: Path, display: str, home: Path, files: list[Path]) -> QImage:
    args = ["--home", str(home), "--screenshot", str(target), "--view", "inspector"]
    for path in files:
        args += ["--evidence", str(path)]
    result = run_app(*args, env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": display})
    assert result.returncode == 0, result.stderr
    image = QImage(str(target))
    assert not image.isNull() and image.width() >= 900 and image.height() >= 600
    assert _distinct_colours(image) > 20
    return image


def _has_colour(image: QImage, rgb: int, step: int = 5) -> bool:
    return any(image.pixel(x, y) & 0xFFFFFF == rgb
               for y in range(0, image.height() // 2, step) for x in range(0, image.width(), step))


@pytest.mark.xvfb
def test_screenshot_of_an_authentic_report(x_display, shot_dir, tmp_path):  # noqa: F811
    report, certs = mstav_files()
    image = _shoot(shot_dir / "inspector-authentic.png", x_display, tmp_path / "home", [report, *certs])
    assert _has_colour(image, GREEN) and not _has_colour(image, RED)


@pytest.mark.xvfb
def test_screenshot_of_a_forged_report(x_display, shot_dir, tmp_path):  # noqa: F811
    folder = real_set("constellation_vlek_milan_v2_MISMATCH")
    image = _shoot(shot_dir / "inspector-failing.png", x_display, tmp_path / "home",
                   [folder / "report.bin", folder / "vlek.pem", folder / "vlek_cert_chain.pem"])
    assert _has_colour(image, RED) and not _has_colour(image, GREEN)


@pytest.mark.xvfb
def test_screenshot_of_a_debug_guest_under_a_no_debug_policy(x_display, shot_dir, tmp_path):  # noqa: F811
    folder = real_set("gosevguest_milan_v2_vcek")
    policy = write_policy(tmp_path)
    image = _shoot(shot_dir / "inspector-policy-failing.png", x_display, tmp_path / "home",
                   [folder / "report.bin", folder / "vcek.der", folder / "cert_chain.pem", policy])
    assert _has_colour(image, AMBER)
