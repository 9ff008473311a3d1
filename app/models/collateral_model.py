"""Table model over the workspace's cached collateral: what, from where, how old, until when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from app.resources import icon
from app.signals import emit

if TYPE_CHECKING:
    from core.attestation.collateral import CollateralItem

Index = QModelIndex | QPersistentModelIndex

# status first: whether anything needs attention is what people look for
COL_STATUS, COL_KIND, COL_KEY, COL_UNTIL, COL_AGE, COL_FETCHED, COL_SOURCE = range(7)
HEADERS = ("Status", "Kind", "Key", "Valid until / next update", "Age", "Fetched (UTC)", "Source")
ItemRole = Qt.ItemDataRole.UserRole + 1
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


class CollateralModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[CollateralItem] = []
        self.at = datetime.now(timezone.utc)

    def set_rows(self, rows: Sequence[CollateralItem], at: datetime) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.at = _utc(at)
        self.endResetModel()

    def set_time(self, at: datetime) -> None:
        """Judge ages and expiry at ``at``; only the time-dependent cells change."""
        self.at = _utc(at)
        if self._rows:
            for column in _TIME_COLUMNS:
                emit(self.dataChanged, self.index(0, column), self.index(len(self._rows) - 1, column))

    def item(self, row: int) -> CollateralItem:
        return self._rows[row]

    def items(self) -> list[CollateralItem]:
        return list(self._rows)

    def row_of(self, kind: str, key: str) -> int:
        for row, item in enumerate(self._rows):
            if (item.kind, item.key) == (kind, key):
                return row
        return -1

    def counts(self) -> dict[str, int]:
        out = {FRESH: 0, EXPIRES_SOON: 0, EXPIRED: 0}
        for item in self._rows:
            out[status_of(item, self.at)] += 1
        return out

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
        item = self._rows[index.row()]
        column = index.column()
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, column)
        if role == SortRole:
            return self._sort_key(item, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item, column)
        if column == COL_STATUS:
            return self._status_style(item, role)
        return None

    def _display(self, item: CollateralItem, column: int) -> str | None:
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

    def _sort_key(self, item: CollateralItem, column: int) -> Any:
        # times sort as times, not as their text ("10 days" after "9 days")
        if column in (COL_FETCHED, COL_AGE):
            return item.fetched_at.timestamp() * (-1 if column == COL_AGE else 1)
        if column in (COL_UNTIL, COL_STATUS):
            return item.not_after.timestamp() if item.not_after else float("inf")
        return self._display(item, column)

    def _tooltip(self, item: CollateralItem, column: int) -> str | None:
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
