"""Table model of expected vs actual values, side by side, for the checks that name both."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontDatabase

# CheckRole is re-exported: a row's Check is there, as in ChecksModel
from app.models.checks_model import STATUS_COLOURS, STATUS_TEXT, CheckRole  # noqa: F401
from app.models.table_base import RowTableModel
from core.attestation.verdict import Check

COL_ID, COL_STATUS, COL_EXPECTED, COL_ACTUAL = range(4)
HEADERS = ("Check", "Result", "Expected (policy)", "Actual (evidence)")
EMPTY = "—"


class ComparisonModel(RowTableModel[Check]):
    HEADERS = HEADERS

    def check(self, row: int) -> Check:
        return self.row(row)

    def display(self, check: Check, column: int) -> str | None:
        if column == COL_ID:
            return check.id
        if column == COL_STATUS:
            return STATUS_TEXT[check.status]
        if column == COL_EXPECTED:
            return check.expected or EMPTY
        if column == COL_ACTUAL:
            return check.actual or EMPTY
        return None

    def tooltip(self, check: Check, column: int) -> str | None:
        # the id column explains the check; the others repeat their (possibly elided) text
        return check.explanation if column == COL_ID else self.display(check, column)

    def role_data(self, check: Check, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_STATUS:
            return QColor(STATUS_COLOURS[check.status])
        if role == Qt.ItemDataRole.FontRole and column in (COL_EXPECTED, COL_ACTUAL):
            return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        return None
