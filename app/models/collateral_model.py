"""Table model over the workspace's cached collateral: what, from where, how old, until when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

from app.models.table_base import OBJECT_ROLE, RowTableModel
from app.resources import icon
from app.signals import emit

if TYPE_CHECKING:
    from core.attestation.collateral import CollateralItem

# status first: whether anything needs attention is what people look for
COL_STATUS, COL_KIND, COL_KEY, COL_UNTIL, COL_AGE, COL_FETCHED, COL_SOURCE = range(7)
HEADERS = ("Status", "Kind", "Key", "Valid until / next update", "Age", "Fetched (UTC)", "Source")
ItemRole = OBJECT_ROLE
SortRole = Qt.ItemDataRole.UserRole + 2

FRESH, EXPIRES_SOON, EXPIRED = "fresh", "expires soon", "expired"
SOON = timedelta(days=7)
# foreground ink, status-cell tint, icon: green / amber / red as in the rest of the app
STATUS_STYLE = {FRESH: ("#1a7f4b", "#e6f4ea", "ok"), EXPIRES_SOON: ("#8a6100", "#fff4d6", "warning"),
                EXPIRED: ("#b3261e", "#fdecea", "error")}
_KNOWN_HOSTS = {"kdsintf.amd.com": "AMD KDS", "api.trustedservices.intel.com": "Intel PCS",
                "certificates.trustedservices.intel.com": "Intel"}
# CRLs and Intel JSON promise a next update; certificates simply stop being valid
_UPDATED_KINDS = ("amd.crl", "intel.pck_crl", "intel.root_crl", "intel.tcb_info", "intel.qe_identity")
_TIME_COLUMNS = (COL_AGE, COL_UNTIL, COL_STATUS)


def status_of(item: CollateralItem, at: datetime) -> str:
    """``fresh``, ``expires soon`` (less than 7 days left) or ``expired``, at ``at``."""
    if item.expired(at):
        return EXPIRED
    if item.not_after is not None and item.not_after - _utc(at) < SOON:
        return EXPIRES_SOON
    return FRESH


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _count(value: int, unit: str) -> str:
    return f"{value} {unit}" if value == 1 else f"{value} {unit}s"


def span_text(delta: timedelta) -> str:
    """A duration for people: "just now", "5 minutes", "3 hours", "12 days"."""
    seconds = int(abs(delta).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return _count(seconds // 60, "minute")
    if seconds < 86400:
        return _count(seconds // 3600, "hour")
    return _count(seconds // 86400, "day")


def age_text(item: CollateralItem, at: datetime) -> str:
    age = item.age(at)
    if age < timedelta(0) and span_text(age) != "just now":
        return "fetched in the future (check the clock)"
    return span_text(age)


def until_text(item: CollateralItem, at: datetime) -> str:
    """"2025-03-31 (in 12 days)", "2025-03-15 (3 days ago)" or "no expiry"."""
    if item.not_after is None:
        return "no expiry"
    left = item.not_after - _utc(at)
    if abs(left) < timedelta(minutes=1):
        relative = "now"
    else:
        relative = f"in {span_text(left)}" if left > timedelta(0) else f"{span_text(left)} ago"
    return f"{item.not_after:%Y-%m-%d} ({relative})"


def source_text(url: str) -> str:
    """Where an item came from, short: "AMD KDS", "file vcek.pem", or the host."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return f"file {unquote(parts.path.rsplit('/', 1)[-1])}"
    if parts.scheme == "recovered":
        return "recovered from the cache"
    host = parts.hostname or url
    return _KNOWN_HOSTS.get(host, host)


class CollateralModel(RowTableModel["CollateralItem"]):
    HEADERS = HEADERS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.at = datetime.now(timezone.utc)

    def set_rows(self, rows: Sequence[CollateralItem], at: datetime) -> None:  # type: ignore[override]
        # the time travels with the rows: a view repaints both in the one reset
        self.at = _utc(at)
        super().set_rows(rows)

    def set_time(self, at: datetime) -> None:
        """Judge ages and expiry at ``at``; only the time-dependent cells change."""
        self.at = _utc(at)
        if self._rows:
            for column in _TIME_COLUMNS:
                emit(self.dataChanged, self.index(0, column), self.index(len(self._rows) - 1, column))

    def item(self, row: int) -> CollateralItem:
        return self.row(row)

    def items(self) -> list[CollateralItem]:
        return self.rows()

    def row_of(self, kind: str, key: str) -> int:
        return self.find_row(lambda item: (item.kind, item.key) == (kind, key))

    def counts(self) -> dict[str, int]:
        out = {FRESH: 0, EXPIRES_SOON: 0, EXPIRED: 0}
        for item in self._rows:
            out[status_of(item, self.at)] += 1
        return out

    def display(self, item: CollateralItem, column: int) -> str | None:
        from core.attestation.collateral.items import kind_name

        if column == COL_KIND:
            return kind_name(item.kind)
        if column == COL_KEY:
            return item.key
        if column == COL_SOURCE:
            return source_text(item.source_url)
        if column == COL_FETCHED:
            return f"{item.fetched_at:%Y-%m-%d %H:%M}"
        if column == COL_AGE:
            return age_text(item, self.at)
        if column == COL_UNTIL:
            return until_text(item, self.at)
        if column == COL_STATUS:
            return status_of(item, self.at)
        return None

    def role_data(self, item: CollateralItem, column: int, role: int) -> Any:
        if role == SortRole:
            return self._sort_key(item, column)
        if column == COL_STATUS:
            return self._status_style(item, role)
        return None

    def _sort_key(self, item: CollateralItem, column: int) -> Any:
        # times sort as times, not as their text ("10 days" after "9 days")
        if column in (COL_FETCHED, COL_AGE):
            return item.fetched_at.timestamp() * (-1 if column == COL_AGE else 1)
        if column in (COL_UNTIL, COL_STATUS):
            return item.not_after.timestamp() if item.not_after else float("inf")
        return self.display(item, column)

    def tooltip(self, item: CollateralItem, column: int) -> str | None:
        if column == COL_SOURCE:
            return item.source_url
        if column == COL_KEY:
            return item.key
        if column == COL_UNTIL and item.not_after is not None:
            what = ("The issuer's next update is due" if item.kind in _UPDATED_KINDS
                    else "The certificates are valid until")
            return f"{what} {item.not_after:%Y-%m-%d %H:%M} UTC"
        if column == COL_STATUS:
            return {FRESH: "Valid for at least another 7 days.",
                    EXPIRES_SOON: "Expires within 7 days: fetch it again or import a newer pack soon.",
                    EXPIRED: "Past its validity: verification with it fails. Fetch it again or import "
                             "a newer pack."}[status_of(item, self.at)]
        return None

    def _status_style(self, item: CollateralItem, role: int) -> Any:
        ink, tint, icon_name = STATUS_STYLE[status_of(item, self.at)]
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor(ink)
        if role == Qt.ItemDataRole.BackgroundRole:
            return QColor(tint)
        if role == Qt.ItemDataRole.DecorationRole:
            return icon(icon_name)
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        return None
