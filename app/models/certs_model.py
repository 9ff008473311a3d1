"""Table model over the local CA's certificates (CertRecord)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from app.models.table_base import OBJECT_ROLE, RowTableModel

if TYPE_CHECKING:
    from core.ca.authority import CertRecord

COL_SERIAL, COL_CN, COL_USAGE, COL_STATUS, COL_NOT_AFTER, COL_REASON = range(6)
HEADERS = ("Serial", "Common name", "Usage", "Status", "Not after", "Revocation reason")
RecordRole = OBJECT_ROLE

STATUS_COLOURS = {"valid": "#1a7f4b", "revoked": "#b3261e", "expired": "#8a6100",
                  "not-yet-valid": "#8a6100"}


class CertsModel(RowTableModel["CertRecord"]):
    HEADERS = HEADERS

    def record(self, row: int) -> CertRecord:
        return self.row(row)

    def row_of(self, serial: str) -> int:
        return self.find_row(lambda record: record.serial == serial)

    def display(self, record: CertRecord, column: int) -> str | None:
        if column == COL_SERIAL:
            return record.serial[:16] + ("…" if len(record.serial) > 16 else "")
        if column == COL_CN:
            return record.common_name
        if column == COL_USAGE:
            return record.usage
        if column == COL_STATUS:
            return record.status
        if column == COL_NOT_AFTER:
            return record.not_after.astimezone().strftime("%Y-%m-%d")
        if column == COL_REASON:
            return record.revocation_reason or ""
        return None

    def tooltip(self, record: CertRecord, column: int) -> str | None:
        if column == COL_SERIAL:
            return record.serial
        if column == COL_CN and record.sans:
            return "\n".join(record.sans)
        if column == COL_REASON and record.revoked_at is not None:
            return f"revoked {record.revoked_at.astimezone():%Y-%m-%d %H:%M}"
        return None

    def role_data(self, record: CertRecord, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_STATUS:
            return QColor(STATUS_COLOURS.get(record.status, "#34425a"))
        return None
