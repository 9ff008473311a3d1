"""Table model over the keystore's entries (KeyEntry); the keystore itself is never touched here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from app.models.table_base import OBJECT_ROLE, RowTableModel

if TYPE_CHECKING:
    from core.keys.keystore import KeyEntry

COL_NAME, COL_TYPE, COL_FINGERPRINT, COL_CREATED, COL_LABEL = range(5)
HEADERS = ("Name", "Type", "Fingerprint (SHA-256)", "Created", "Label / purpose")
EntryRole = OBJECT_ROLE

TYPE_NAMES = {"rsa": "RSA-4096", "ecdsa-p256": "ECDSA P-256", "ecdsa-p384": "ECDSA P-384",
              "ed25519": "Ed25519"}


def short_fingerprint(fingerprint: str) -> str:
    """First 16 hex digits in groups of four; the full value is in the tooltip and details."""
    head = fingerprint[:16]
    return " ".join(head[i:i + 4] for i in range(0, len(head), 4)) + " …"


def type_name(key_type: Any) -> str:
    value = getattr(key_type, "value", key_type)
    return TYPE_NAMES.get(str(value), str(value))


class KeysModel(RowTableModel["KeyEntry"]):
    HEADERS = HEADERS

    def entry(self, row: int) -> KeyEntry:
        return self.row(row)

    def row_of(self, name: str) -> int:
        return self.find_row(lambda entry: entry.name == name)

    def display(self, entry: KeyEntry, column: int) -> str | None:
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

    def tooltip(self, entry: KeyEntry, column: int) -> str | None:
        return entry.fingerprint if column == COL_FINGERPRINT else None

    def role_data(self, entry: KeyEntry, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.UserRole and column == COL_CREATED:
            return entry.created_at.timestamp()  # sortable value
        return None
