"""``RowTableModel``: the one shape every table model here shares (Vorta's pattern).

Rows are domain objects in a plain list; ``set_rows`` replaces them inside a model reset, a
single changed row is announced with ``dataChanged`` (no reset, so selection and scroll stay),
and the row's object is available to views in ``OBJECT_ROLE``. A subclass names its columns
(``HEADERS``) and says what each cell shows through the hooks ``display``, ``tooltip`` and
``role_data``; it never re-implements the Qt plumbing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.signals import emit

Index = QModelIndex | QPersistentModelIndex
T = TypeVar("T")

# the role that hands a view the row's domain object (each model also names it for its objects)
OBJECT_ROLE = Qt.ItemDataRole.UserRole + 1


class RowTableModel(QAbstractTableModel, Generic[T]):
    """A flat table of ``T``, one per row; subclasses set ``HEADERS`` and implement ``display``."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[T] = []

    # --- rows ------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[T]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[T]:
        """A copy: changing it never changes the model behind the view's back."""
        return list(self._rows)

    def row(self, row: int) -> T:
        return self._rows[row]

    def find_row(self, match: Callable[[T], bool]) -> int:
        """The first row whose object ``match`` accepts, or -1."""
        return next((row for row, value in enumerate(self._rows) if match(value)), -1)

    def update_row(self, row: int, value: T) -> None:
        """Replace one row's object; only its cells are repainted."""
        self._rows[row] = value
        emit(self.dataChanged, self.index(row, 0), self.index(row, len(self.HEADERS) - 1))

    def append_rows(self, values: Sequence[T]) -> None:
        if not values:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(values) - 1)
        self._rows.extend(values)
        self.endInsertRows()

    # --- hooks for subclasses --------------------------------------------------------------

    def display(self, value: T, column: int) -> Any:
        """The cell's text (DisplayRole); None leaves it empty."""
        return None

    def tooltip(self, value: T, column: int) -> Any:
        return None

    def role_data(self, value: T, column: int, role: int) -> Any:
        """Any other role (colours, icons, fonts, alignment, sort keys)."""
        return None

    # --- Qt model API ----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.HEADERS)):
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        value = self._rows[index.row()]
        if role == OBJECT_ROLE:
            return value
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(value, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(value, index.column())
        return self.role_data(value, index.column(), role)
