"""The Sandbox view's panels: the daemon's status with Start/Stop, and the result files with a preview."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QWidget,
)

from app.resources import icon

if TYPE_CHECKING:
    from app.views.sandbox_work import ResultFile
    from core.sandbox.control import SandboxStatus

RUNNING_INK, STOPPED_INK = "#1a7f4b", "#5b6577"


def status_html(status: SandboxStatus | None, owned: bool) -> str:
    if status is None:
        return "<b>Embedded sandbox:</b> status not checked yet"
    if not status.running:
        return (f"<b>Embedded sandbox:</b> <span style='color:{STOPPED_INK}'>&#9675; stopped</span> · it starts "
                "when you press Start or run a computation")
    behaviour = f"misbehaving: {escape(status.misbehave)}" if status.misbehave else "honest TEE"
    vms = ", ".join(escape(str(vm.get("cvm_id", "?")))[:8] for vm in status.vms) or "none"
    who = "started by this window" if owned else "started outside this window"
    return (f"<b>Embedded sandbox:</b> <span style='color:{RUNNING_INK}'>&#9679; running</span> "
            f"({behaviour}; {who}, pid {status.pid})<br>Manager <code>{escape(status.manager_target)}</code>"
            f" · CVMs: {len(status.vms)} ({vms})")


class StatusPanel(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sandboxStatus")
        self.setStyleSheet("#sandboxStatus { background: #f4f6fa; border: 1px solid #d7dce6; border-radius: 8px; }")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        self.label = QLabel(status_html(None, False))
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start the embedded sandbox: a Cocos manager and a simulated TEE on loopback")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the sandbox and every CVM it runs")
        self.refresh_button = QPushButton(icon("refresh"), "")
        self.refresh_button.setToolTip("Check the sandbox's status again")
        layout.addWidget(self.label, 1)
        for button in (self.start_button, self.stop_button, self.refresh_button):
            layout.addWidget(button)

    def show_status(self, status: SandboxStatus, owned: bool) -> None:
        self.label.setText(status_html(status, owned))


class ResultsPanel(QSplitter):
    """The files the computation produced; a small text file's content shows beside the list."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.files: tuple[ResultFile, ...] = ()
        self.list = QListWidget()
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.preview.setPlaceholderText("The result files of a successful run appear here.")
        self.addWidget(self.list)
        self.addWidget(self.preview)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 2)
        self.list.currentRowChanged.connect(self._selected)

    def show_files(self, files: Sequence[ResultFile]) -> None:
        self.files = tuple(files)
        self.list.clear()
        self.preview.clear()
        for item in self.files:
            self.list.addItem(QListWidgetItem(f"{item.name}  ({item.size} bytes)"))
        if self.files:
            self.list.setCurrentRow(0)

    def _selected(self, row: int) -> None:
        if not 0 <= row < len(self.files):
            self.preview.clear()
            return
        item = self.files[row]
        self.preview.setPlainText(item.preview if item.preview else
                                  f"{item.name} is binary or larger than the preview limit; it is not shown.")
