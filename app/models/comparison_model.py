"""Table model of expected vs actual values, side by side, for the checks that name both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFontDatabase

from app.models.checks_model import STATUS_COLOURS, STATUS_TEXT, CheckRole
from core.attestation.verdict import Check

Index = QModelIndex | QPersistentModelIndex

COL_ID, COL_STATUS, COL_EXPECTED, COL_ACTUAL = range(4)
HEADERS = ("Check", "Result", "Expected (policy)", "Actual (evidence)")
EMPTY = "—"


class ComparisonModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Check] = []

    def set_rows(self, rows: Sequence[Check]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def check(self, row: int) -> Check:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(HEADERS)):
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        check = self._rows[index.row()]
        column = index.column()
        if role == CheckRole:
            return check
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column == COL_ID:
                return check.id if role == Qt.ItemDataRole.DisplayRole else check.explanation
            if column == COL_STATUS:
                return STATUS_TEXT[check.status]
            if column == COL_EXPECTED:
                return check.expected or EMPTY
            if column == COL_ACTUAL:
                return check.actual or EMPTY
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_STATUS:
            return QColor(STATUS_COLOURS[check.status])
        if role == Qt.ItemDataRole.FontRole and column in (COL_EXPECTED, COL_ACTUAL):
            return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        return None
