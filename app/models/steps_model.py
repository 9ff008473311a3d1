"""Table model over the steps of a computation run: status (icon, colour), step, detail.

A step is reported twice, when it starts and when it ends; the end replaces the start in place
(one ``dataChanged``), so the list grows by one row per step and never flickers.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from app.models.table_base import OBJECT_ROLE, RowTableModel
from app.resources import icon
from core.cocos.steps import Step, StepStatus

COL_STATUS, COL_NAME, COL_DETAIL = range(3)
HEADERS = ("Status", "Step", "Detail")
StepRole = OBJECT_ROLE

STATUS_TEXT = {StepStatus.STARTED: "Running…", StepStatus.OK: "OK", StepStatus.FAILED: "FAILED"}
STATUS_COLOURS = {StepStatus.STARTED: "#1c3d7a", StepStatus.OK: "#1a7f4b", StepStatus.FAILED: "#b3261e"}
STATUS_ICONS = {StepStatus.STARTED: "refresh", StepStatus.OK: "ok", StepStatus.FAILED: "error"}
# what each lifecycle step means to a person; unknown names are shown as they are
STEP_TITLES = {
    "sandbox": "Start the sandbox", "party": "Prepare throwaway keys and CA", "policy": "Fetch the policy",
    "check-inputs": "Check the input hashes", "cvms": "Start the CVMS server", "create-vm": "Create the CVM",
    "manifest": "Agent takes the manifest", "attestation": "Verify the attestation",
    "hash-probe": "Probe hash enforcement", "upload-algorithm": "Upload the algorithm", "result": "Download the result",
    "unzip": "Unpack the result", "remove-vm": "Remove the CVM", "cvms-stop": "Stop the CVMS server",
}


def step_title(name: str) -> str:
    if name.startswith("upload-dataset "):
        return f"Upload dataset {name.split(' ', 1)[1]}"
    return STEP_TITLES.get(name, name)


class StepsModel(RowTableModel[Step]):
    HEADERS = HEADERS

    def clear(self) -> None:
        self.set_rows([])

    def steps(self) -> list[Step]:
        return self.rows()

    def step(self, row: int) -> Step:
        return self.row(row)

    def add_step(self, step: Step) -> int:
        """Record ``step``: the end of a running step updates its row, anything else appends one."""
        row = self._running_row(step.name) if step.status is not StepStatus.STARTED else -1
        if row >= 0:
            self.update_row(row, step)
            return row
        row = len(self._rows)
        self.append_rows([step])
        return row

    def _running_row(self, name: str) -> int:
        for row in range(len(self._rows) - 1, -1, -1):
            if self._rows[row].name == name and self._rows[row].status is StepStatus.STARTED:
                return row
        return -1

    def display(self, step: Step, column: int) -> str | None:
        if column == COL_STATUS:
            return STATUS_TEXT[step.status]
        if column == COL_NAME:
            return step_title(step.name)
        if column == COL_DETAIL:
            return step.detail
        return None

    def tooltip(self, step: Step, column: int) -> str | None:
        return step.detail or step.name if column == COL_DETAIL else step.name

    def role_data(self, step: Step, column: int, role: int) -> Any:
        if column == COL_STATUS:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(STATUS_COLOURS[step.status])
            if role == Qt.ItemDataRole.DecorationRole:
                return icon(STATUS_ICONS[step.status])
        return None
