"""Where the app finds its icons and desktop entry, from a checkout or a PyInstaller bundle."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

ICON_NAMES = (
    "prism-desktop", "keys", "certificate", "audit", "lock", "unlock", "add", "import", "export",
    "delete", "rename", "workspace", "revoke", "signature", "copy", "refresh", "ok", "error", "info",
)


def resources_dir() -> Path:
    """The ``resources`` directory: next to the package in a checkout, under _MEIPASS when frozen.

    The PyInstaller spec must collect it as ``("resources", "resources")`` (without ``roots``
    if that is shipped separately) for the frozen branch to find the files.
    """
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def icon_path(name: str) -> Path:
    return resources_dir() / "icons" / f"{name}.svg"


INK = "#34425a"  # the stroke colour every icon is drawn with


@lru_cache(maxsize=None)
def icon(name: str, ink: str | None = None) -> QIcon:
    """The named SVG icon (an empty icon, not an error, if the file is missing).

    ``ink`` redraws the icon's strokes in another colour, for dark backgrounds like the sidebar.
    """
    from PySide6.QtGui import QIcon

    path = icon_path(name)
    if not path.is_file():
        return QIcon()
    if ink is None:
        return QIcon(str(path))
    return _tinted(path.read_text(encoding="utf-8").replace(INK, ink))


def _tinted(svg: str) -> QIcon:
    from PySide6.QtCore import QByteArray, QRectF, Qt
    from PySide6.QtGui import QIcon, QPainter, QPixmap
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    result = QIcon()
    for size in (16, 24, 32, 48, 64):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        result.addPixmap(pixmap)
    return result
