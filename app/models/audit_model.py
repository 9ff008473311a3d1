"""Paged table model over a workspace's audit log, newest event first.

The log can hold any number of events, so the model only ever holds the pages the view has
scrolled to: ``canFetchMore``/``fetchMore`` pull the next page (an indexed SQL query of at most
``page_size`` rows). Text and action filters are applied in SQL by the AuditLog, not in a proxy,
so filtering never needs every row in memory.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex

from app.models.table_base import OBJECT_ROLE, Index, RowTableModel

if TYPE_CHECKING:
    from core.workspace.audit import AuditLog, AuditRecord

COL_SEQ, COL_TIME, COL_ACTOR, COL_ACTION, COL_SUBJECT, COL_DETAILS = range(6)
HEADERS = ("#", "Time", "Actor", "Action", "Subject", "Details")
RecordRole = OBJECT_ROLE
DEFAULT_PAGE = 200


def details_text(details: dict) -> str:
    return ", ".join(f"{key}={json.dumps(value) if not isinstance(value, str) else value}"
                     for key, value in sorted(details.items()))


class AuditModel(RowTableModel["AuditRecord"]):
    HEADERS = HEADERS

    def __init__(self, audit: AuditLog | None = None, *, page_size: int = DEFAULT_PAGE,
                 parent: Any = None) -> None:
        super().__init__(parent)
        self._audit = audit
        self.page_size = page_size
        self._total = 0
        self._text: str | None = None
        self._action_prefix: str | None = None
        self.refresh()

    # --- source and filters ----------------------------------------------------------------

    def set_source(self, audit: AuditLog | None) -> None:
        self._audit = audit
        self.refresh()

    def set_filter(self, text: str | None = None, action_prefix: str | None = None) -> None:
        self._text = text or None
        self._action_prefix = action_prefix or None
        self.refresh()

    @property
    def total(self) -> int:
        """Events matching the filter, loaded or not."""
        return self._total

    def refresh(self) -> None:
        """Forget loaded pages and load the first one again (after new events or a filter)."""
        self._total = 0 if self._audit is None else self._audit.count(
            action_prefix=self._action_prefix, text=self._text)
        self.set_rows(self._page(0))

    def _page(self, offset: int) -> list[AuditRecord]:
        if self._audit is None or offset >= self._total:
            return []
        return self._audit.events(offset=offset, limit=self.page_size, newest_first=True,
                                  action_prefix=self._action_prefix, text=self._text)

    def record(self, row: int) -> AuditRecord:
        return self.row(row)

    # --- paging (Qt asks when the view scrolls near the end) -------------------------------

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008 - Qt's signature
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        page = self._page(len(self._rows))
        if not page:
            self._total = len(self._rows)  # the log shrank under us; stop asking
            return
        self.append_rows(page)

    # --- cells -----------------------------------------------------------------------------

    def display(self, record: AuditRecord, column: int) -> str | int | None:
        if column == COL_SEQ:
            return record.seq
        if column == COL_TIME:
            return record.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        if column == COL_ACTOR:
            return record.actor
        if column == COL_ACTION:
            return record.action
        if column == COL_SUBJECT:
            return record.subject
        if column == COL_DETAILS:
            return details_text(record.details)
        return None

    def tooltip(self, record: AuditRecord, column: int) -> str | None:
        return json.dumps(record.details, indent=2, sort_keys=True) if column == COL_DETAILS else None
