"""A framed two-column panel of "Field: value" rows describing the selected item."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QWidget

EMPTY = "—"


class DetailsPanel(QFrame):
    def __init__(self, fields: Iterable[tuple[str, str]], *, monospace: Iterable[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailsPanel")
        self.setStyleSheet("#detailsPanel { background: palette(base); border: 1px solid palette(mid);"
                           " border-radius: 6px; }")
        form = QFormLayout(self)
        form.setContentsMargins(12, 8, 12, 8)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono = set(monospace)
        self.labels: dict[str, QLabel] = {}
        for key, title in fields:
            label = QLabel(EMPTY)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            if key in mono:
                label.setFont(fixed)
            self.labels[key] = label
            form.addRow(f"{title}:", label)

    def show_values(self, values: dict[str, str] | None) -> None:
        """Fill the rows (missing or empty values show a dash); ``None`` clears them all."""
        for key, label in self.labels.items():
            value = (values or {}).get(key) or EMPTY
            label.setText(value)
