"""Table model over the keystore's entries (KeyEntry); the keystore itself is never touched here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

if TYPE_CHECKING:
    from core.keys.keystore import KeyEntry

Index = QModelIndex | QPersistentModelIndex

COL_NAME, COL_TYPE, COL_FINGERPRINT, COL_CREATED, COL_LABEL = range(5)
HEADERS = ("Name", "Type", "Fingerprint (SHA-256)", "Created", "Label / purpose")
EntryRole = Qt.ItemDataRole.UserRole + 1

TYPE_NAMES = {"rsa": "RSA-4096", "ecdsa-p256": "ECDSA P-256", "ecdsa-p384": "ECDSA P-384",
              "ed25519": "Ed25519"}


def short_fingerprint(fingerprint: str) -> str:
    """First 16 hex digits in groups of four; the full value is in the tooltip and details."""
    head = fingerprint[:16]
    return " ".join(head[i:i + 4] for i in range(0, len(head), 4)) + " …"


def type_name(key_type: Any) -> str:
    value = getattr(key_type, "value", key_type)
    return TYPE_NAMES.get(str(value), str(value))


class KeysModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[KeyEntry] = []

    def set_rows(self, rows: Sequence[KeyEntry]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def entry(self, row: int) -> KeyEntry:
        return self._rows[row]

    def row_of(self, name: str) -> int:
        for row, entry in enumerate(self._rows):
            if entry.name == name:
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
        entry = self._rows[index.row()]
        column = index.column()
        if role == EntryRole:
            return entry
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == COL_FINGERPRINT:
            return entry.fingerprint
        if role == Qt.ItemDataRole.UserRole and column == COL_CREATED:
            return entry.created_at.timestamp()  # sortable value
        return None

    @staticmethod
    def _display(entry: KeyEntry, column: int) -> str | None:
        if column == COL_NAME:
            return entry.name
        if column == COL_TYPE:
            return type_name(entry.key_type)
        if column == COL_FINGERPRINT:
            return short_fingerprint(entry.fingerprint)
        if column == COL_CREATED:
            return entry.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        if column == COL_LABEL:
            parts = [part for part in (entry.label, entry.purpose) if part]
            return " · ".join(parts)
        return None
