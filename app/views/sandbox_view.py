"""The Sandbox view: the embedded sandbox's status, Start/Stop, and a whole demo computation run live.

The run is a coroutine on the GUI's asyncio loop (qasync), so the gRPC channels it opens live on
that loop and the window stays responsive; blocking work (starting the daemon, key generation)
goes to worker threads. A daemon this view started is stopped before its window closes, and by
an ``atexit`` fallback should the loop end some other way, so the app leaves no process behind.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.asyncio_support import Op, spawn
from app.models.steps_model import COL_DETAIL, COL_NAME, COL_STATUS, StepsModel
from app.resources import icon
from app.session import Session
from app.views.inspector_panels import ChecksPanel
from app.views.sandbox_panels import ResultsPanel, StatusPanel
from app.views.sandbox_work import MISBEHAVIOUR_CHOICES, DemoResult, DemoRun
from app.views.sandbox_text import cancelled_text, failure_text, outcome_text
from app.views.widgets.busy import BusyIndicator
from app.views.widgets.drop_table import DataTable
from app.views.widgets.message_bar import MessageBar
from app.views.widgets.verdict_banner import VerdictBanner
from core.cocos.steps import Step, StepStatus
from core.errors import PrismError

if TYPE_CHECKING:
    from core.sandbox.control import SandboxControl, SandboxStatus

log = logging.getLogger(__name__)

IDLE_TITLE = "No run yet"
IDLE_DETAIL = ("“Run demo computation” runs a whole computation on the embedded sandbox: throwaway keys, "
               "attestation of the TEE, upload, result. Choose a misbehaving TEE to see the app refuse it.")


def _start_if_stopped(control: SandboxControl) -> tuple[SandboxStatus, bool]:
    status = control.status()
    return (status, False) if status.running else (control.up(), True)


def _loop_running() -> bool:
    try:
        return asyncio.get_event_loop().is_running()
    except RuntimeError:
        return False


class SandboxView(QWidget):
    def __init__(self, session: Session | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.status: SandboxStatus | None = None
        self.owns_daemon = False   # True once this view started the daemon: it stops it at quit
        self.run_task: asyncio.Task[Any] | None = None
        self.demo: DemoRun | None = None
        self.result: DemoResult | None = None
        self._busy_daemon = False
        self._closing = False
        self._watched: QObject | None = None
        self._atexit_control: SandboxControl | None = None
        self._build()
        self._update_actions()

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        self.bar = MessageBar()
        layout.addWidget(self.bar)
        self.status_panel = StatusPanel()
        self.status_panel.start_button.clicked.connect(self.start)
        self.status_panel.stop_button.clicked.connect(self.stop)
        self.status_panel.refresh_button.clicked.connect(self.refresh)
        layout.addWidget(self.status_panel)
        layout.addLayout(self._build_run_row())
        self.banner = VerdictBanner()
        self.banner.show_state("empty", IDLE_TITLE, IDLE_DETAIL)
        layout.addWidget(self.banner)
        self.busy = BusyIndicator()
        layout.addWidget(self.busy)
        layout.addWidget(self._build_panes(), 1)

    def _build_run_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(8)
        self.run_button = QPushButton(icon("sandbox"), "Run demo computation")
        self.run_button.setToolTip("Sum a small CSV on the sandbox TEE after checking its attestation; the "
                                   "sandbox starts first when it is not running.")
        row.addWidget(self.run_button)
        row.addWidget(QLabel("TEE behaviour"))
        self.misbehave_box = QComboBox()
        for value, label in MISBEHAVIOUR_CHOICES:
            self.misbehave_box.addItem(label, value)
        self.misbehave_box.setToolTip("A misbehaving sandbox produces a defect a verifier must catch; the app "
                                      "must refuse it before sending anything. Changing it restarts the sandbox.")
        row.addWidget(self.misbehave_box)
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setToolTip("Stop the run; its CVM is removed and its CVMS server stopped.")
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        self.run_button.clicked.connect(self.run_demo)
        self.cancel_button.clicked.connect(self.cancel)
        return row

    def _build_panes(self) -> QSplitter:
        self.steps_model = StepsModel(self)
        self.steps_table = DataTable("Each step of a run appears here as it happens.")
        self.steps_table.setModel(self.steps_model)
        self.steps_table.setColumnWidth(COL_STATUS, 100)
        self.steps_table.setColumnWidth(COL_NAME, 210)
        self.steps_table.horizontalHeader().setSectionResizeMode(COL_DETAIL, QHeaderView.ResizeMode.Stretch)
        self.checks_panel = ChecksPanel()
        self.results_panel = ResultsPanel()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.checks_panel, "Attestation checks")
        self.tabs.addTab(self.results_panel, "Result files")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.steps_table)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([520, 480])
        return splitter

    # --- the sandbox daemon --------------------------------------------------------------

    @property
    def control(self) -> SandboxControl:
        from core.errors import NotFound
        from core.sandbox.control import SandboxControl

        if self.session is None:
            raise NotFound("no Prism home is open; the sandbox lives in the Prism home")
        return SandboxControl(self.session.manager.home)

    @property
    def running(self) -> bool:
        return self.run_task is not None and not self.run_task.done()

    def refresh(self) -> asyncio.Task[Any] | None:
        try:
            control = self.control
        except PrismError as error:
            self.bar.show_error(error)
            return None
        return Op(control.status).success(self._show_status).failure(self.bar.show_error).run()

    def start(self) -> asyncio.Task[Any] | None:
        return self._daemon_op("Starting the sandbox (manager and simulated TEE)…", _start_if_stopped,
                               lambda value: self._sandbox_up(*value))

    def stop(self) -> asyncio.Task[Any] | None:
        def stopped(_was_running: bool) -> None:
            self.owns_daemon = False
            self.refresh()

        return self._daemon_op("Stopping the sandbox and its CVMs…", lambda control: control.down(), stopped)

    def _daemon_op(self, text: str, work: Any, done: Any) -> asyncio.Task[Any] | None:
        if self._busy_daemon or self.running:
            return None
        try:
            control = self.control
        except PrismError as error:
            self.bar.show_error(error)
            return None
        self._busy_daemon = True
        self.bar.hide()
        self.busy.start(text)
        self._update_actions()

        def finished() -> None:
            self._busy_daemon = False
            self.busy.stop()
            self._update_actions()

        return Op(work, control).success(done).failure(self._daemon_failed).done(finished).run()

    def _daemon_failed(self, error: BaseException) -> None:
        self.bar.show_error(error)
        self.refresh()

    def _sandbox_up(self, status: SandboxStatus, started: bool) -> None:
        if started:
            self._own_daemon()
        self._show_status(status)

    def _show_status(self, status: SandboxStatus) -> None:
        self.status = status
        self.status_panel.show_status(status, self.owns_daemon)
        self._update_actions()

    def _update_actions(self) -> None:
        idle = not self.running and not self._busy_daemon
        running = self.status is not None and self.status.running
        self.status_panel.start_button.setEnabled(idle and not running)
        self.status_panel.stop_button.setEnabled(idle and running)
        self.status_panel.refresh_button.setEnabled(not self._busy_daemon)
        self.run_button.setEnabled(idle)
        self.misbehave_box.setEnabled(idle)
        self.cancel_button.setEnabled(self.running)

    # --- the demo run --------------------------------------------------------------------

    def run_demo(self) -> asyncio.Task[Any] | None:
        """Run the demo on the sandbox (started on demand); the steps, verdict and result show as they come."""
        if self.running or self._busy_daemon:
            return None
        try:
            control = self.control
        except PrismError as error:
            self.bar.show_error(error)
            return None
        self.bar.hide()
        self.result = None
        self.steps_model.clear()
        self.checks_panel.show_checks([])
        self.results_panel.show_files(())
        self.banner.show_state("busy", "Running the demo computation…",
                               "Each step appears below as it happens. Nothing is uploaded before the TEE's "
                               "attestation passes.")
        self.busy.start("Running…")
        self.demo = DemoRun(control, self.misbehave_box.currentData(), on_step=self._on_step,
                            on_sandbox=self._sandbox_up)
        self.run_task = spawn(self._run_demo(self.demo))
        self._update_actions()
        return self.run_task

    def cancel(self) -> None:
        if self.running:
            assert self.run_task is not None
            self.busy.start("Cancelling: removing the CVM and stopping the CVMS server…")
            self.run_task.cancel()

    async def _run_demo(self, demo: DemoRun) -> None:
        try:
            result = await demo.run()
        except asyncio.CancelledError:
            self.banner.show_state("cancelled", *cancelled_text(self.steps_model.steps()))
            raise
        except Exception as error:  # noqa: BLE001 - every failure is shown where the user looks
            if not isinstance(error, PrismError):
                log.error("the demo run failed", exc_info=error)
            self._show_verdict(demo)
            self.banner.show_state("error", *failure_text(error, self.steps_model.steps()))
            return
        finally:
            self.run_task = None
            self.busy.stop()
            self._update_actions()
            if not self._closing:
                self.refresh()
        self._show_result(result)

    def _on_step(self, step: Step) -> None:
        self.steps_model.add_step(step)
        self.steps_table.scrollToBottom()
        if step.status is StepStatus.OK and step.name in ("create-vm", "remove-vm"):
            self.refresh()  # the CVM list changed

    def _show_verdict(self, demo: DemoRun) -> None:
        lifecycle = demo.lifecycle
        if lifecycle is not None and lifecycle.verdict is not None:
            self.checks_panel.show_checks(lifecycle.verdict.checks)

    def _show_result(self, result: DemoResult) -> None:
        self.result = result
        self.checks_panel.show_checks(result.verdict.checks if result.verdict is not None else [])
        self.results_panel.show_files(result.files)
        state, title, detail = outcome_text(result, self.steps_model.steps())
        self.banner.show_state(state, title, detail)
        self.tabs.setCurrentWidget(self.checks_panel if result.refusal is not None else self.results_panel)

    # --- quitting without orphans --------------------------------------------------------

    def _own_daemon(self) -> None:
        self.owns_daemon = True
        window = self.window()
        if self._watched is not window:
            if self._watched is not None:
                self._watched.removeEventFilter(self)
            window.installEventFilter(self)
            self._watched = window
        if self._atexit_control is None:
            # the loop can end without the window closing (an interrupt): still no orphan daemon
            self._atexit_control = self.control
            atexit.register(self.stop_owned_daemon)

    def stop_owned_daemon(self) -> bool:
        """Stop the daemon this view started, synchronously; False when it started none."""
        if not self.owns_daemon or self._atexit_control is None:
            return False
        self.owns_daemon = False
        return self._atexit_control.down()

    async def shutdown(self) -> None:
        """Cancel a run (its cleanup still talks to the sandbox), then stop the daemon this view started."""
        self._closing = True
        task = self.run_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=30)
        if self.owns_daemon:
            await asyncio.to_thread(self.stop_owned_daemon)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.Close and watched is self._watched and not self._closing
                and (self.owns_daemon or self.running)):
            if not _loop_running():  # the loop is gone: stop the daemon here and now
                self.stop_owned_daemon()
                return super().eventFilter(watched, event)
            event.ignore()
            self.busy.start("Stopping the sandbox before quitting…")
            spawn(self._close_after_shutdown(watched))
            return True
        return super().eventFilter(watched, event)

    async def _close_after_shutdown(self, window: Any) -> None:
        try:
            await self.shutdown()
        finally:
            window.close()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.status is None and self._home_open():
            self.refresh()

    def _home_open(self) -> bool:
        # the window paints before the Prism home is opened: no error for that moment
        try:
            return self.session is not None and self.session.manager is not None
        except PrismError:
            return False
