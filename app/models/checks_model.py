"""Table model over a Verdict's checks: status (coloured, with an icon), id, stage, explanation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from app.models.table_base import OBJECT_ROLE, RowTableModel
from app.resources import icon
from core.attestation.verdict import Check, Stage, Status

COL_STATUS, COL_ID, COL_STAGE, COL_EXPLANATION = range(4)
HEADERS = ("Result", "Check", "Stage", "Explanation")
CheckRole = OBJECT_ROLE

STATUS_TEXT = {Status.PASS: "Pass", Status.FAIL: "FAIL", Status.WARN: "Warning", Status.SKIP: "Skipped"}
STATUS_COLOURS = {Status.PASS: "#1a7f4b", Status.FAIL: "#b3261e", Status.WARN: "#8a6100",
                  Status.SKIP: "#5b6577"}
STATUS_ICONS = {Status.PASS: "ok", Status.FAIL: "error", Status.WARN: "warning", Status.SKIP: "skipped"}
STAGE_TEXT = {Stage.VERIFY: "authenticity", Stage.VALIDATE: "policy"}


class ChecksModel(RowTableModel[Check]):
    HEADERS = HEADERS

    def check(self, row: int) -> Check:
        return self.row(row)

    def row_of(self, check_id: str) -> int:
        return self.find_row(lambda check: check.id == check_id)

    def display(self, check: Check, column: int) -> str | None:
        if column == COL_STATUS:
            return STATUS_TEXT[check.status]
        if column == COL_ID:
            return check.id
        if column == COL_STAGE:
            return STAGE_TEXT.get(check.stage, check.stage.value)
        if column == COL_EXPLANATION:
            return check.explanation
        return None

    def tooltip(self, check: Check, column: int) -> str | None:
        return check.explanation if column == COL_EXPLANATION else None

    def role_data(self, check: Check, column: int, role: int) -> Any:
        if column == COL_STATUS:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(STATUS_COLOURS[check.status])
            if role == Qt.ItemDataRole.DecorationRole:
                return icon(STATUS_ICONS[check.status])
        return None


def policy_comparison(checks: Sequence[Check]) -> list[Check]:
    """The policy's checks for a side-by-side view: failures first, then warnings, then the rest."""
    order = {Status.FAIL: 0, Status.WARN: 1}
    return sorted((c for c in checks if c.stage is Stage.VALIDATE), key=lambda c: order.get(c.status, 2))
