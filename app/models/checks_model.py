"""Table model over a Verdict's checks: status (coloured, with an icon), id, stage, explanation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.resources import icon
from core.attestation.verdict import Check, Stage, Status

Index = QModelIndex | QPersistentModelIndex

COL_STATUS, COL_ID, COL_STAGE, COL_EXPLANATION = range(4)
HEADERS = ("Result", "Check", "Stage", "Explanation")
CheckRole = Qt.ItemDataRole.UserRole + 1

STATUS_TEXT = {Status.PASS: "Pass", Status.FAIL: "FAIL", Status.WARN: "Warning", Status.SKIP: "Skipped"}
STATUS_COLOURS = {Status.PASS: "#1a7f4b", Status.FAIL: "#b3261e", Status.WARN: "#8a6100",
                  Status.SKIP: "#5b6577"}
STATUS_ICONS = {Status.PASS: "ok", Status.FAIL: "error", Status.WARN: "warning", Status.SKIP: "skipped"}
STAGE_TEXT = {Stage.VERIFY: "authenticity", Stage.VALIDATE: "policy"}


class ChecksModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Check] = []

    def set_rows(self, rows: Sequence[Check]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def check(self, row: int) -> Check:
        return self._rows[row]

    def row_of(self, check_id: str) -> int:
        return next((row for row, check in enumerate(self._rows) if check.id == check_id), -1)

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
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(check, column)
        if column == COL_STATUS:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(STATUS_COLOURS[check.status])
            if role == Qt.ItemDataRole.DecorationRole:
                return icon(STATUS_ICONS[check.status])
        if role == Qt.ItemDataRole.ToolTipRole and column == COL_EXPLANATION:
            return check.explanation
        return None

    @staticmethod
    def _display(check: Check, column: int) -> str | None:
        if column == COL_STATUS:
            return STATUS_TEXT[check.status]
        if column == COL_ID:
            return check.id
        if column == COL_STAGE:
            return STAGE_TEXT.get(check.stage, check.stage.value)
        if column == COL_EXPLANATION:
            return check.explanation
        return None


def policy_comparison(checks: Sequence[Check]) -> list[Check]:
    """The policy's checks for a side-by-side view: failures first, then warnings, then the rest."""
    order = {Status.FAIL: 0, Status.WARN: 1}
    return sorted((c for c in checks if c.stage is Stage.VALIDATE), key=lambda c: order.get(c.status, 2))
