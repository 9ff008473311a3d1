"""The Attestation Inspector: open evidence, verify it off the GUI thread, show why it passes or not."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDateTime, QTimeZone, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.asyncio_support import Op, spawn
from app.files import safe_file_stem, write_file
from app.resources import icon
from app.session import Session
from app.views.inspector_panels import (
    CertificatesPanel,
    ChecksPanel,
    ComparisonPanel,
    FieldsPanel,
    TcbPanel,
)
from app.views.inspector_work import Inspection, InspectionInputs, headline, inspect, sort_dropped
from app.views.prompts import choose_directory, choose_open_files, choose_save_file
from app.views.widgets.busy import BusyIndicator
from app.views.widgets.drop_table import local_paths
from app.views.widgets.message_bar import MessageBar, error_text
from app.views.widgets.verdict_banner import VerdictBanner

EVIDENCE_FILTER = "Evidence (*.bin *.dat *.raw *.cbor *.jwt *.txt *.hex);;All files (*)"
CERT_FILTER = "Certificates (*.pem *.der *.cer *.crt);;All files (*)"
POLICY_FILTER = "Policies (*.json *.corim *.cbor);;All files (*)"
PACK_FILTER = "Collateral packs (*.zip *.tar *.gz *.pack);;All files (*)"


def _now_utc() -> QDateTime:
    return QDateTime.currentDateTimeUtc()


class InspectorView(QWidget):
    def __init__(self, session: Session | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.evidence_path: Path | None = None
        self.certificate_paths: list[Path] = []
        self.collateral_paths: list[Path] = []
        self.policy_path: Path | None = None
        self.inspection: Inspection | None = None
        self.task: asyncio.Task[Any] | None = None
        self._generation = 0   # results of a superseded run are dropped, never shown
        self.setAcceptDrops(True)
        self._build()
        self._update_inputs()

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        self.bar = MessageBar()
        layout.addWidget(self.bar)
        layout.addWidget(self._build_toolbar())
        layout.addLayout(self._build_options())
        self.inputs_label = QLabel()
        self.inputs_label.setWordWrap(True)
        self.inputs_label.setStyleSheet("color: #34425a;")
        self.inputs_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.inputs_label)
        self.banner = VerdictBanner()
        layout.addWidget(self.banner)
        self.busy = BusyIndicator()
        layout.addWidget(self.busy)
        self.checks_panel = ChecksPanel()
        self.fields_panel = FieldsPanel()
        self.tcb_panel = TcbPanel()
        self.certs_panel = CertificatesPanel()
        self.comparison_panel = ComparisonPanel()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for panel, title in ((self.checks_panel, "Checks"), (self.fields_panel, "Fields && bytes"),
                             (self.tcb_panel, "TCB"), (self.certs_panel, "Certificates"),
                             (self.comparison_panel, "Expected vs actual")):
            self.tabs.addTab(panel, title)
        layout.addWidget(self.tabs, 1)

    def _build_toolbar(self) -> QToolBar:
        bar = QToolBar()
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.open_action = bar.addAction(icon("import"), "Open evidence…")
        self.certs_action = bar.addAction(icon("certificate"), "Certificates…")
        self.collateral_action = bar.addAction(icon("workspace"), "Collateral…")
        self.policy_action = bar.addAction(icon("signature"), "Policy…")
        self.clear_action = bar.addAction(icon("delete"), "Clear")
        bar.addSeparator()
        self.export_action = bar.addAction(icon("export"), "Export HTML report…")
        self.open_action.triggered.connect(lambda: spawn(self.choose_evidence()))
        self.certs_action.triggered.connect(lambda: spawn(self.choose_certificates()))
        self.collateral_action.triggered.connect(lambda: spawn(self.choose_collateral()))
        self.policy_action.triggered.connect(lambda: spawn(self.choose_policy()))
        self.clear_action.triggered.connect(self.clear)
        self.export_action.triggered.connect(lambda: spawn(self.export_html()))
        return bar

    def _build_options(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(QLabel("Verify as of"))
        self.at_edit = QDateTimeEdit(_now_utc())
        self.at_edit.setTimeZone(QTimeZone.utc())
        self.at_edit.setDisplayFormat("yyyy-MM-dd HH:mm 'UTC'")
        self.at_edit.setCalendarPopup(True)
        self.at_edit.setToolTip("Certificates and collateral expire: judge old evidence at its capture date.")
        self.now_button = QPushButton("Now")
        self.now_button.setToolTip("Verify as of the current time")
        self.trust_box = QCheckBox("Trust sandbox/test roots")
        self.trust_box.setToolTip("Also trust a self-signed ARK given with the evidence (the embedded "
                                  "sandbox's simulated TEE, or test evidence). Never for real use; off by "
                                  "default and not remembered.")
        row.addWidget(self.at_edit)
        row.addWidget(self.now_button)
        row.addSpacing(16)
        row.addWidget(self.trust_box)
        row.addStretch(1)
        self.at_edit.dateTimeChanged.connect(lambda _value: self.verify())
        self.now_button.clicked.connect(self.set_now)
        self.trust_box.toggled.connect(lambda _on: self.verify())
        return row

    # --- inputs --------------------------------------------------------------------------

    def set_time(self, moment: datetime) -> None:
        """Verify as of ``moment`` (naive means UTC); re-verifies open evidence."""
        moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
        self.at_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(moment.timestamp()), QTimeZone.utc()))

    def set_now(self) -> None:
        self.at_edit.setDateTime(_now_utc())

    def verification_time(self) -> datetime:
        return datetime.fromtimestamp(self.at_edit.dateTime().toSecsSinceEpoch(), timezone.utc)

    def open_evidence(self, path: Path) -> asyncio.Task[Any] | None:
        self.evidence_path = Path(path)
        return self.verify()

    def add_certificates(self, paths: list[Path]) -> asyncio.Task[Any] | None:
        self.certificate_paths += [Path(p) for p in paths if Path(p) not in self.certificate_paths]
        return self.verify()

    def add_collateral(self, paths: list[Path]) -> asyncio.Task[Any] | None:
        self.collateral_paths += [Path(p) for p in paths if Path(p) not in self.collateral_paths]
        return self.verify()

    def set_policy(self, path: Path | None) -> asyncio.Task[Any] | None:
        self.policy_path = Path(path) if path is not None else None
        return self.verify()

    def open_paths(self, paths: list[Path]) -> asyncio.Task[Any] | None:
        """Files dropped (or named on the command line): evidence, certificates, policy, collateral."""
        evidence, certs, policy, collateral = sort_dropped([Path(p) for p in paths])
        if evidence is not None and evidence != self.evidence_path:
            if self.evidence_path is not None:  # other evidence: its certificates do not belong to it
                self.certificate_paths, self.collateral_paths, self.policy_path = [], [], None
            self.evidence_path = evidence
        self.certificate_paths += [p for p in certs if p not in self.certificate_paths]
        self.collateral_paths += [p for p in collateral if p not in self.collateral_paths]
        self.policy_path = policy or self.policy_path
        return self.verify()

    def clear(self) -> None:
        self._generation += 1
        self.evidence_path, self.policy_path = None, None
        self.certificate_paths, self.collateral_paths = [], []
        self._show(None)
        self.banner.show_state("empty", "No evidence open", "Open evidence or drop it here.")
        self.busy.stop()
        self._update_inputs()

    # --- file dialogs --------------------------------------------------------------------

    async def choose_evidence(self) -> None:
        paths = await choose_open_files(self, "Open attestation evidence", EVIDENCE_FILTER)
        if paths:
            self.open_paths(paths)

    async def choose_certificates(self) -> None:
        paths = await choose_open_files(self, "Add the VCEK/VLEK and its chain", CERT_FILTER)
        if paths:
            self.add_certificates(paths)

    async def choose_collateral(self) -> None:
        folder = await choose_directory(self, "Choose a collateral folder")
        if folder is not None:
            self.add_collateral([folder])

    async def choose_policy(self) -> None:
        paths = await choose_open_files(self, "Choose an attestation policy", POLICY_FILTER)
        if paths:
            self.set_policy(paths[0])

    # --- verification --------------------------------------------------------------------

    def inputs(self) -> InspectionInputs | None:
        if self.evidence_path is None:
            return None
        return InspectionInputs(self.evidence_path, tuple(self.certificate_paths),
                                tuple(self.collateral_paths), self.policy_path,
                                self.verification_time(), self.trust_box.isChecked(), self._cache_dir())

    def _cache_dir(self) -> Path | None:
        """The open workspace's cache: collateral fetched or imported earlier verifies offline."""
        if self.session is None or not self.session.has_workspace:
            return None
        return self.session.workspace.cache_dir

    def verify(self) -> asyncio.Task[Any] | None:
        """Re-run the inspection in a worker thread; the newest run wins."""
        self._update_inputs()
        inputs = self.inputs()
        if inputs is None:
            return None
        self._generation += 1
        generation = self._generation
        self.bar.hide()
        self.busy.start(f"Verifying {inputs.evidence.name}…")
        self.banner.show_state("busy", "Verifying…", "Checking signatures, certificate chain and policy "
                               "on this machine.")

        def done() -> None:
            if generation == self._generation:
                self.busy.stop()

        self.task = (Op(inspect, inputs).success(lambda result: self._finished(generation, result))
                     .failure(lambda error: self._failed(generation, error)).done(done).run())
        return self.task

    def _finished(self, generation: int, inspection: Inspection) -> None:
        if generation != self._generation:
            return
        self._show(inspection)
        line = headline(inspection.verdict)
        trusted = inspection.trusted_test_roots
        detail = line.detail + (f" (Trusting test root {', '.join(trusted)}.)" if trusted else "")
        self.banner.show_state(line.state, line.title, detail)

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._show(None)
        name = self.evidence_path.name if self.evidence_path else "the evidence"
        self.banner.show_state("error", f"Cannot check {name}", error_text(error))

    def _show(self, inspection: Inspection | None) -> None:
        self.inspection = inspection
        if inspection is None:
            self.checks_panel.show_checks([])
            self.fields_panel.clear()
            self.tcb_panel.clear()
            self.certs_panel.model.set_certificates([], datetime.now(timezone.utc))
            self.comparison_panel.model.set_rows([])
        else:
            self.checks_panel.show_checks(inspection.verdict.checks)
            self.fields_panel.show_inspection(inspection)
            self.tcb_panel.show_inspection(inspection)
            self.certs_panel.show_inspection(inspection)
            self.comparison_panel.show_inspection(inspection)
        self.export_action.setEnabled(inspection is not None)

    def _update_inputs(self) -> None:
        def names(paths: list[Path]) -> str:
            return ", ".join(p.name for p in paths) or "none"

        if self.evidence_path is None:
            self.inputs_label.setText("Evidence: none yet. Certificates, collateral and a policy are optional.")
        else:
            collateral = f" · Collateral: {names(self.collateral_paths)}" if self.collateral_paths else ""
            policy = self.policy_path.name if self.policy_path else "none (authenticity only)"
            self.inputs_label.setText(f"<b>Evidence:</b> {self.evidence_path.name} · <b>Certificates:</b> "
                                      f"{names(self.certificate_paths)}{collateral} · <b>Policy:</b> {policy}")
        self.export_action.setEnabled(self.inspection is not None)

    # --- export --------------------------------------------------------------------------

    async def export_html(self) -> None:
        if self.inspection is None:
            return
        stem = safe_file_stem(self.inspection.inputs.evidence.stem)
        target = await choose_save_file(self, "Save the HTML report", f"{stem}-attestation.html",
                                        "HTML (*.html);;All files (*)")
        if target is not None:
            self.export_html_to(target)

    def export_html_to(self, target: Path) -> asyncio.Task[Any] | None:
        inspection = self.inspection
        if inspection is None:
            return None

        def write() -> Path:
            from core.attestation.assess import verdict_to_html

            write_file(target, verdict_to_html(inspection.verdict, inspection.evidence).encode("utf-8"))
            return target

        return (Op(write).success(lambda path: self.bar.show_message(f"Saved the report to {path}", "success"))
                .failure(self.bar.show_error).run())

    # --- drops ---------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self.dragEnterEvent(event)  # type: ignore[arg-type]

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_paths(paths)
