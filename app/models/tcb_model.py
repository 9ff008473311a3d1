"""Table model of an SNP report's TCB, component by component, against the policy's minimums."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from app.models.table_base import OBJECT_ROLE, RowTableModel

if TYPE_CHECKING:
    from core.attestation.snp.policy import SnpPolicy
    from core.attestation.snp.report import AttestationReport

COL_COMPONENT, COL_REPORTED, COL_CURRENT, COL_COMMITTED, COL_LAUNCH, COL_MINIMUM, COL_RESULT = range(7)
HEADERS = ("Component", "Reported", "Current", "Committed", "Launch", "Policy minimum", "Result")
RowRole = OBJECT_ROLE
TITLES = {"fmc": "FMC", "bootloader": "Boot loader", "tee": "TEE (PSP OS)", "snp": "SNP firmware",
          "microcode": "Microcode"}
RESULT_COLOURS = {"meets": "#1a7f4b", "below": "#b3261e", "none": "#5b6577"}
RESULT_TEXT = {"meets": "meets the minimum", "below": "BELOW the minimum", "none": "not checked"}


@dataclass(frozen=True, slots=True)
class TcbRow:
    component: str
    reported: int
    current: int
    committed: int
    launch: int
    minimum: int | None          # the policy's minimum for REPORTED_TCB (None: not checked)
    launch_minimum: int | None   # the policy's minimum for LAUNCH_TCB

    @property
    def result(self) -> str:
        """"meets", "below" (a minimum is not met) or "none" (the policy sets no minimum)."""
        if self.minimum is None and self.launch_minimum is None:
            return "none"
        low = ((self.minimum is not None and self.reported < self.minimum)
               or (self.launch_minimum is not None and self.launch < self.launch_minimum))
        return "below" if low else "meets"


def tcb_rows(report: AttestationReport, policy: SnpPolicy | None) -> list[TcbRow]:
    minimum = dict(policy.minimum_tcb.items()) if policy and policy.minimum_tcb else {}
    launch_min = dict(policy.minimum_launch_tcb.items()) if policy and policy.minimum_launch_tcb else {}
    reported = report.reported_tcb.components()
    current = report.current_tcb.components()
    committed = report.committed_tcb.components()
    launch = report.launch_tcb.components()
    return [TcbRow(name, value, current.get(name, 0), committed.get(name, 0), launch.get(name, 0),
                   minimum.get(name), launch_min.get(name)) for name, value in reported.items()]


def result_style(result: str, role: int, is_result: bool, is_number: bool) -> Any:
    """How both TCB tables (SNP and TDX) style a cell: the result in its colour, numbers centred."""
    if role == Qt.ItemDataRole.ForegroundRole and is_result:
        return QColor(RESULT_COLOURS[result])
    if role == Qt.ItemDataRole.TextAlignmentRole and is_number:
        return int(Qt.AlignmentFlag.AlignCenter)
    return None


class TcbModel(RowTableModel[TcbRow]):
    HEADERS = HEADERS

    def display(self, row: TcbRow, column: int) -> str | None:
        if column == COL_COMPONENT:
            return TITLES.get(row.component, row.component)
        values = {COL_REPORTED: row.reported, COL_CURRENT: row.current,
                  COL_COMMITTED: row.committed, COL_LAUNCH: row.launch}
        if column in values:
            return str(values[column])
        if column == COL_MINIMUM:
            parts = [f"{row.minimum}" if row.minimum is not None else "",
                     f"launch {row.launch_minimum}" if row.launch_minimum is not None else ""]
            return ", ".join(p for p in parts if p) or "—"
        if column == COL_RESULT:
            return RESULT_TEXT[row.result]
        return None

    def role_data(self, row: TcbRow, column: int, role: int) -> Any:
        return result_style(row.result, role, column == COL_RESULT, COL_REPORTED <= column <= COL_MINIMUM)
