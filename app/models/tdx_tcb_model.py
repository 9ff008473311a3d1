"""Table model of a TDX quote's TEE_TCB_SVN, byte by byte, against the policy and Intel's TCB level.

Each byte is compared with the policy's ``minimum_tee_tcb_svn[i]`` and with ``tdxtcbcomponents[i]``
of the TCB level the platform matched in Intel's signed TCB Info (when collateral was given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.models.table_base import OBJECT_ROLE, RowTableModel
from app.models.tcb_model import RESULT_TEXT, result_style

COL_COMPONENT, COL_REPORTED, COL_MINIMUM, COL_LEVEL, COL_RESULT = range(5)
HEADERS = ("Component", "Reported", "Policy minimum", "TCB level", "Result")
RowRole = OBJECT_ROLE
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


class TdxTcbModel(RowTableModel[TdxTcbRow]):
    HEADERS = HEADERS

    def display(self, row: TdxTcbRow, column: int) -> str | None:
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

    def role_data(self, row: TdxTcbRow, column: int, role: int) -> Any:
        return result_style(row.result, role, column == COL_RESULT, COL_REPORTED <= column <= COL_LEVEL)
