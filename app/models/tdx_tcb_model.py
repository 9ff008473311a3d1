"""Table model of a TDX quote's TEE_TCB_SVN, byte by byte, against the policy and Intel's TCB level.

Each byte is compared with the policy's ``minimum_tee_tcb_svn[i]`` and with ``tdxtcbcomponents[i]``
of the TCB level the platform matched in Intel's signed TCB Info (when collateral was given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.models.tcb_model import RESULT_COLOURS, RESULT_TEXT

Index = QModelIndex | QPersistentModelIndex

COL_COMPONENT, COL_REPORTED, COL_MINIMUM, COL_LEVEL, COL_RESULT = range(5)
HEADERS = ("Component", "Reported", "Policy minimum", "TCB level", "Result")
RowRole = Qt.ItemDataRole.UserRole + 1
# a TDX 1.5+ module puts its own SVN and minor version in bytes 0 and 1; Intel judges those by
# tdxModuleIdentities, so the platform level's components apply from byte 2 on (as in matching)
MODULE_BYTES = {0: "TDX module SVN", 1: "TDX module minor version"}


@dataclass(frozen=True, slots=True)
class TdxTcbRow:
    index: int
    reported: int
    minimum: int | None          # the policy's minimum_tee_tcb_svn[index] (None: not checked)
    level_minimum: int | None    # tdxtcbcomponents[index] of the matched TCB level (None: unknown)

    @property
    def component(self) -> str:
        name = MODULE_BYTES.get(self.index)
        return f"TEE_TCB_SVN[{self.index}]" + (f" ({name})" if name else "")

    @property
    def result(self) -> str:
        """"meets", "below" (a minimum is not met) or "none" (nothing to compare with)."""
        minimums = [m for m in (self.minimum, self.level_minimum) if m is not None]
        if not minimums:
            return "none"
        return "below" if any(self.reported < m for m in minimums) else "meets"


def tdx_tcb_rows(tee_tcb_svn: bytes, policy_minimum: bytes | None,
                 level_components: Sequence[int] | None) -> list[TdxTcbRow]:
    """One row per TEE_TCB_SVN byte; ``level_components`` is the matched level's tdxtcbcomponents."""
    level_from = 2 if len(tee_tcb_svn) > 1 and tee_tcb_svn[1] > 0 else 0
    rows = []
    for i, value in enumerate(tee_tcb_svn):
        minimum = policy_minimum[i] if policy_minimum is not None and i < len(policy_minimum) else None
        level = (level_components[i] if level_components is not None and level_from <= i < len(level_components)
                 else None)
        rows.append(TdxTcbRow(i, value, minimum, level))
    return rows


class TdxTcbModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[TdxTcbRow] = []

    def set_rows(self, rows: Sequence[TdxTcbRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, row: int) -> TdxTcbRow:
        return self._rows[row]

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
        row = self._rows[index.row()]
        if role == RowRole:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, index.column())
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == COL_RESULT:
            return QColor(RESULT_COLOURS[row.result])
        if role == Qt.ItemDataRole.TextAlignmentRole and COL_REPORTED <= index.column() <= COL_LEVEL:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    @staticmethod
    def _display(row: TdxTcbRow, column: int) -> str | None:
        if column == COL_COMPONENT:
            return row.component
        if column == COL_REPORTED:
            return str(row.reported)
        if column == COL_MINIMUM:
            return "—" if row.minimum is None else str(row.minimum)
        if column == COL_LEVEL:
            return "—" if row.level_minimum is None else str(row.level_minimum)
        if column == COL_RESULT:
            return RESULT_TEXT[row.result]
        return None
