"""Table model over the local CA's certificates (CertRecord)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

if TYPE_CHECKING:
    from core.ca.authority import CertRecord

Index = QModelIndex | QPersistentModelIndex

COL_SERIAL, COL_CN, COL_USAGE, COL_STATUS, COL_NOT_AFTER, COL_REASON = range(6)
HEADERS = ("Serial", "Common name", "Usage", "Status", "Not after", "Revocation reason")
RecordRole = Qt.ItemDataRole.UserRole + 1

STATUS_COLOURS = {"valid": "#1a7f4b", "revoked": "#b3261e", "expired": "#8a6100",
                  "not-yet-valid": "#8a6100"}


class CertsModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[CertRecord] = []

    def set_rows(self, rows: Sequence[CertRecord]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def record(self, row: int) -> CertRecord:
        return self._rows[row]

    def row_of(self, serial: str) -> int:
        for row, record in enumerate(self._rows):
            if record.serial == serial:
                return row
        return -1

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
        record = self._rows[index.row()]
        column = index.column()
        if role == RecordRole:
            return record
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(record, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_STATUS:
            return QColor(STATUS_COLOURS.get(record.status, "#34425a"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(record, column)
        return None

    @staticmethod
    def _display(record: CertRecord, column: int) -> str | None:
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

    @staticmethod
    def _tooltip(record: CertRecord, column: int) -> str | None:
        if column == COL_SERIAL:
            return record.serial
        if column == COL_CN and record.sans:
            return "\n".join(record.sans)
        if column == COL_REASON and record.revoked_at is not None:
            return f"revoked {record.revoked_at.astimezone():%Y-%m-%d %H:%M}"
        return None
