"""The Certificates view: the workspace's local CA and the certificates it issued."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QStackedWidget, QToolBar, QVBoxLayout, QWidget

from app.asyncio_support import Op, run_dialog, spawn
from app.models.certs_model import COL_CN, COL_NOT_AFTER, COL_SERIAL, COL_STATUS, COL_USAGE, CertsModel
from app.resources import icon
from app.files import safe_file_stem
from app.session import Session
from app.views.cert_dialogs import InitCADialog, IssueDialog, RevokeDialog
from app.views.prompts import choose_save_file
from app.views.widgets.busy import BusyIndicator
from app.views.widgets.details_panel import DetailsPanel
from app.views.widgets.drop_table import DataTable
from app.views.widgets.locked_panel import LockedPanel
from app.views.widgets.message_bar import MessageBar

if TYPE_CHECKING:
    from core.ca.authority import CertRecord

def describe(record: CertRecord) -> dict[str, str]:
    status = record.status
    if record.revoked_at is not None:
        status += f" since {record.revoked_at.astimezone():%Y-%m-%d %H:%M} ({record.revocation_reason})"
    return {"serial": record.serial, "subject": record.common_name, "sans": ", ".join(record.sans),
            "usage": record.usage, "status": status,
            "validity": f"{record.not_before.astimezone():%Y-%m-%d} to {record.not_after.astimezone():%Y-%m-%d}",
            "key": record.key_name or "not in the keystore (issued from a CSR)",
            "renewed": record.renewed_from or ""}


NO_CA = "No certificate authority in this workspace yet.\nInitialise one to issue TLS certificates."


class CertificatesView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = CertsModel(self)
        self.initialised = False
        self.last_folder: Path | None = None
        self._build()
        session.certsChanged.connect(self.refresh)
        session.lockedChanged.connect(self._locked_changed)
        session.workspaceChanged.connect(lambda _name: self._locked_changed(session.is_locked))
        self._locked_changed(session.is_locked)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        self.bar = MessageBar()
        layout.addWidget(self.bar)
        self.locked_panel = LockedPanel("the certificate authority")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.locked_panel)
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addWidget(self._build_toolbar())
        self.busy = BusyIndicator()
        page_layout.addWidget(self.busy)
        self.table = DataTable(NO_CA)
        self.table.setModel(self.model)
        for column, width in ((COL_SERIAL, 175), (COL_CN, 220), (COL_USAGE, 70), (COL_STATUS, 80),
                              (COL_NOT_AFTER, 100)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.details = DetailsPanel((("serial", "Serial"), ("subject", "Common name"),
                                     ("sans", "Alternative names"), ("usage", "Usage"),
                                     ("validity", "Valid"), ("status", "Status"), ("key", "Key"),
                                     ("renewed", "Renews")), monospace=("serial",))
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        page_layout.addWidget(splitter, 1)
        self.stack.addWidget(page)
        layout.addWidget(self.stack, 1)

    def _build_toolbar(self) -> QToolBar:
        bar = QToolBar()
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.init_action = bar.addAction(icon("certificate"), "Initialise CA…")
        self.issue_action = bar.addAction(icon("add"), "Issue…")
        self.revoke_action = bar.addAction(icon("revoke"), "Revoke…")
        bar.addSeparator()
        self.crl_action = bar.addAction(icon("export"), "Export CRL…")
        self.bundle_action = bar.addAction(icon("export"), "Export PEM bundle…")
        self.init_action.triggered.connect(lambda: spawn(self.init_ca()))
        self.issue_action.triggered.connect(lambda: spawn(self.issue()))
        self.revoke_action.triggered.connect(lambda: spawn(self.revoke_selected()))
        self.crl_action.triggered.connect(lambda: spawn(self.export_crl()))
        self.bundle_action.triggered.connect(lambda: spawn(self.export_bundle()))
        return bar

    # --- state ---------------------------------------------------------------------------

    def _locked_changed(self, locked: bool) -> None:
        if locked:
            self.model.set_rows([])
            self.initialised = False
            self.locked_panel.set_state(self.session.keystore_state()
                                        if self.session.has_workspace else "opening")
            self.stack.setCurrentWidget(self.locked_panel)
        else:
            self.stack.setCurrentIndex(1)
            self.refresh()
        self._update_actions()

    def refresh(self) -> None:
        if self.session.is_locked:
            return

        def load() -> tuple[bool, list[CertRecord]]:
            return self.session.ca_initialised(), self.session.list_certs()

        Op(load).success(self._loaded).failure(self.bar.show_error).run()

    def _loaded(self, result: tuple[bool, list[CertRecord]]) -> None:
        self.initialised, rows = result
        selected = self.selected_record()
        self.model.set_rows(rows)
        row = self.model.row_of(selected.serial) if selected is not None else -1
        if row < 0 and rows:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
        self._update_actions()

    def selected_record(self) -> CertRecord | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.record(rows[0].row()) if rows else None

    def select(self, serial: str) -> None:
        row = self.model.row_of(serial)
        if row >= 0:
            self.table.selectRow(row)

    def _update_actions(self, *_args: Any) -> None:
        record = self.selected_record()
        unlocked = not self.session.is_locked
        self.init_action.setEnabled(unlocked and not self.initialised)
        self.issue_action.setEnabled(unlocked and self.initialised)
        self.crl_action.setEnabled(unlocked and self.initialised)
        leaf = record is not None and record.usage != "ca"
        self.revoke_action.setEnabled(leaf and record is not None and record.status != "revoked")
        self.bundle_action.setEnabled(record is not None)
        self.details.show_values(None if record is None else describe(record))

    # --- actions -------------------------------------------------------------------------

    async def init_ca(self) -> None:
        dialog = InitCADialog(self.session.workspace_name, self)
        if await run_dialog(dialog):
            self._run(Op(self.session.init_ca, dialog.common_name.text().strip() or None,
                         dialog.days.value()),
                      "Creating the CA key…", lambda record: f"Initialised “{record.common_name}”.")

    async def issue(self) -> None:
        dialog = IssueDialog(self, folder=self.last_folder)
        if not await run_dialog(dialog):
            return
        values = dialog.values()
        self.last_folder = values["out_dir"]  # type: ignore[assignment]
        self.issue_with(**values)  # type: ignore[arg-type]

    def issue_with(self, common_name: str, sans: tuple[str, ...], usage: str, days: int,
                   out_dir: Path) -> asyncio.Task:
        def described(result: tuple[CertRecord, list[Path]]) -> str:
            record, files = result
            names = " and ".join(path.name for path in files)
            return f"Issued “{record.common_name}” (serial {record.serial[:16]}…): wrote {names} to {out_dir}"

        return self._run(Op(self.session.issue_cert, common_name, sans=sans, usage=usage, days=days,
                            out_dir=out_dir), "Issuing…", described)

    async def revoke_selected(self) -> None:
        from core.ca.authority import REVOCATION_REASONS

        record = self.selected_record()
        if record is None:
            return
        dialog = RevokeDialog(record.common_name, record.serial, tuple(REVOCATION_REASONS), self)
        if await run_dialog(dialog):
            self.revoke(record.serial, dialog.chosen_reason)

    def revoke(self, serial: str, reason: str) -> asyncio.Task:
        return self._run(Op(self.session.revoke_cert, serial, reason), "Revoking…",
                         lambda record: f"Revoked “{record.common_name}” ({reason}).")

    async def export_crl(self) -> None:
        target = await choose_save_file(self, "Save CRL", f"{self.session.workspace_name}-ca.crl",
                                        "CRL (*.crl *.der);;All files (*)")
        if target is not None:
            self.export_crl_to(target)

    def export_crl_to(self, target: Path) -> asyncio.Task:
        return self._run(Op(self.session.export_crl, target), "Signing the CRL…",
                         lambda number: f"Published CRL number {number} to {target}")

    async def export_bundle(self) -> None:
        record = self.selected_record()
        if record is None:
            return
        target = await choose_save_file(self, "Save PEM bundle",
                                        f"{safe_file_stem(record.common_name)}.bundle.pem",
                                        "PEM (*.pem);;All files (*)")
        if target is not None:
            self.export_bundle_to(record.serial, target)

    def export_bundle_to(self, serial: str, target: Path) -> asyncio.Task:
        return self._run(Op(self.session.export_pem_bundle, serial, target), "Exporting…",
                         lambda _path: f"Saved the certificate and CA certificate to {target}")

    def _run(self, op: Op, busy_text: str, describe: Any) -> asyncio.Task:
        self.busy.start(busy_text)

        def succeeded(result: Any) -> None:
            self.bar.show_message(describe(result), "success")
            self.refresh()

        return op.success(succeeded).failure(self.bar.show_error).done(self.busy.stop).run()
