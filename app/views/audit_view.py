"""The Audit log view: the hash-chained events of the workspace, filterable, paged, verified."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QToolButton, QVBoxLayout, QWidget

from app.asyncio_support import Op
from app.models.audit_model import COL_ACTION, COL_ACTOR, COL_SEQ, COL_SUBJECT, COL_TIME, AuditModel
from app.resources import icon
from app.session import Session
from app.views.widgets.chain_banner import ChainBanner
from app.views.widgets.drop_table import DataTable
from app.views.widgets.message_bar import error_text

ACTION_FILTERS = (("All actions", ""), ("Keys", "key."), ("Keystore", "keystore."),
                  ("Certificate authority", "ca."), ("Workspace", "workspace."))
FILTER_DELAY_MS = 250


class AuditView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = AuditModel(session.audit if session.has_workspace else None, parent=self)
        self.verifying = False
        self._again = False
        self._build()
        # typing in the filter box re-queries after a short pause, not on every key press
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(lambda _text: self._filter_timer.start())
        self.action_filter.currentIndexChanged.connect(lambda _index: self.apply_filter())
        session.auditChanged.connect(self.refresh)
        session.workspaceChanged.connect(self._workspace_changed)
        session.chainChecked.connect(self.banner.set_report)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        self.banner = ChainBanner()
        layout.addWidget(self.banner)
        row = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: text in actor, action, subject or details")
        self.filter_edit.setClearButtonEnabled(True)
        self.action_filter = QComboBox()
        for text, prefix in ACTION_FILTERS:
            self.action_filter.addItem(text, prefix)
        self.verify_button = QToolButton()
        self.verify_button.setIcon(icon("refresh"))
        self.verify_button.setText("Verify chain")
        self.verify_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.verify_button.clicked.connect(self.verify_chain)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: #5b6577;")
        row.addWidget(self.filter_edit, 1)
        row.addWidget(self.action_filter)
        row.addWidget(self.verify_button)
        layout.addLayout(row)
        self.table = DataTable("No events match.")
        self.table.setModel(self.model)
        for column, width in ((COL_SEQ, 50), (COL_TIME, 150), (COL_ACTOR, 90), (COL_ACTION, 150),
                              (COL_SUBJECT, 170)):
            self.table.setColumnWidth(column, width)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)
        self._update_count()
        self.model.modelReset.connect(self._update_count)
        self.model.rowsInserted.connect(self._update_count)

    # --- filtering and refresh ----------------------------------------------------------------

    def apply_filter(self) -> None:
        self._filter_timer.stop()
        self.model.set_filter(self.filter_edit.text().strip(), self.action_filter.currentData())

    def refresh(self) -> None:
        self.model.refresh()
        self.verify_chain()

    def _workspace_changed(self, _name: str) -> None:
        self.model.set_source(self.session.audit if self.session.has_workspace else None)
        self.verify_chain()

    def _update_count(self, *_args: object) -> None:
        loaded, total = self.model.rowCount(), self.model.total
        more = " — scroll for more" if loaded < total else ""
        self.count_label.setText(f"Showing {loaded} of {total} events{more}")

    # --- chain verification ---------------------------------------------------------------------

    def verify_chain(self) -> None:
        """Walk the whole chain in a worker; the banner turns green or red when it is done."""
        if not self.session.has_workspace:
            return
        if self.verifying:
            self._again = True
            return
        self.verifying = True
        self._again = False
        self.banner.set_pending()
        (Op(self.session.verify_chain).success(self.session.announce_chain)
         .failure(lambda error: self.banner.set_failure(f"Could not check the chain: {error_text(error)}"))
         .done(self._verified).run())

    def _verified(self) -> None:
        self.verifying = False
        if self._again:
            self.verify_chain()
