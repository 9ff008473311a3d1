"""The main window: workspace toolbar, navigation sidebar, the views, and a status bar."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.asyncio_support import Op, run_dialog, set_error_handler, spawn
from app.resources import icon
from app.session import Session
from app.views.audit_view import AuditView
from app.views.certificates_view import CertificatesView
from app.views.collateral_view import CollateralView
from app.views.inspector_view import InspectorView
from app.views.keys_view import KeysView
from app.views.sandbox_view import SandboxView
from app.views.unlock_dialog import UnlockDialog
from app.views.widgets.chain_banner import chain_summary
from app.views.widgets.message_bar import MessageBar, error_text
from app.views.workspace_bar import WorkspaceBar

VIEWS = (("keys", "Keys", "keys"), ("certificates", "Certificates", "certificate"),
         ("audit", "Audit log", "audit"), ("inspector", "Attestation", "inspector"),
         ("collateral", "Collateral", "collateral"), ("sandbox", "Sandbox", "sandbox"))
SIDEBAR_INK = "#dfe5ff"
SIDEBAR_STYLE = """
QListWidget#sidebar { background: #1f2740; color: #e8ecff; border: none; padding-top: 8px;
                      font-size: 14px; outline: 0; }
QListWidget#sidebar::item { padding: 10px 12px; border-radius: 6px; margin: 2px 8px; }
QListWidget#sidebar::item:selected { background: #3a4fc4; color: #ffffff; }
QListWidget#sidebar::item:hover:!selected { background: #2c365a; }
"""


class MainWindow(QMainWindow):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.unlock_dialog: UnlockDialog | None = None
        self.setWindowTitle("Prism Desktop")
        self.setWindowIcon(icon("prism-desktop"))
        self.resize(1100, 680)
        self.message_bar = MessageBar()
        self.workspace_bar = WorkspaceBar(session, self.message_bar.show_message, self)
        self.addToolBar(self.workspace_bar)
        self._add_lock_action()
        self.keys_view = KeysView(session)
        self.certificates_view = CertificatesView(session)
        self.audit_view = AuditView(session)
        self.inspector_view = InspectorView(session)
        self.collateral_view = CollateralView(session)
        self.sandbox_view = SandboxView(session)
        self._build_center()
        self._build_status_bar()
        for view in (self.keys_view, self.certificates_view):
            view.locked_panel.unlockRequested.connect(self.unlock)
        session.workspaceChanged.connect(self._workspace_changed)
        session.lockedChanged.connect(self._locked_changed)
        session.chainChecked.connect(self._chain_checked)
        self._previous_handler = set_error_handler(self._unexpected_error)
        self._update_status()

    # --- layout --------------------------------------------------------------------------

    def _add_lock_action(self) -> None:
        self.lock_action = self.workspace_bar.addAction(icon("lock"), "Lock")
        self.lock_action.triggered.connect(self._toggle_lock)

    def _build_center(self) -> None:
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setStyleSheet(SIDEBAR_STYLE)
        self.sidebar.setIconSize(QSize(22, 22))
        self.sidebar.setFixedWidth(190)
        self.stack = QStackedWidget()
        self.views: dict[str, QWidget] = {"keys": self.keys_view,
                                          "certificates": self.certificates_view,
                                          "audit": self.audit_view,
                                          "inspector": self.inspector_view,
                                          "collateral": self.collateral_view,
                                          "sandbox": self.sandbox_view}
        for key, title, icon_name in VIEWS:
            item = QListWidgetItem(icon(icon_name, SIDEBAR_INK), title)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.sidebar.addItem(item)
            self.stack.addWidget(self.views[key])
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.sidebar.setCurrentRow(0)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(12, 8, 12, 0)
        right_layout.addWidget(self.message_bar)
        right_layout.addWidget(self.stack, 1)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._build_sidebar_frame())
        layout.addWidget(right, 1)
        self.setCentralWidget(central)

    def _build_sidebar_frame(self) -> QWidget:
        frame = QWidget()
        frame.setObjectName("sidebarFrame")
        frame.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        frame.setStyleSheet("#sidebarFrame { background: #1f2740; }")
        frame.setFixedWidth(self.sidebar.width())
        layout = QVBoxLayout(frame)
        layout.setContentsMargins(0, 14, 0, 0)
        layout.setSpacing(6)
        brand = QHBoxLayout()
        brand.setContentsMargins(16, 0, 12, 4)
        logo = QLabel()
        logo.setPixmap(icon("prism-desktop").pixmap(30, 30))
        title = QLabel("Prism Desktop")
        title.setStyleSheet("color: #ffffff; font-size: 15px; font-weight: 600;")
        brand.addWidget(logo)
        brand.addWidget(title, 1)
        layout.addLayout(brand)
        layout.addWidget(self.sidebar, 1)
        return frame

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.workspace_label = QLabel()
        self.lock_label = QLabel()
        self.chain_label = QLabel()
        for label in (self.workspace_label, self.lock_label, self.chain_label):
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)

    def show_view(self, key: str) -> None:
        keys = [view_key for view_key, _title, _icon in VIEWS]
        self.sidebar.setCurrentRow(keys.index(key))

    @property
    def current_view(self) -> str:
        return VIEWS[self.sidebar.currentRow()][0]

    # --- state ---------------------------------------------------------------------------

    def _workspace_changed(self, _name: str) -> None:
        self._update_status()
        self.auto_unlock()

    def _locked_changed(self, _locked: bool) -> None:
        self._update_status()

    def _chain_checked(self, report: object) -> None:
        self._update_status()

    def _update_status(self) -> None:
        session = self.session
        self.workspace_label.setText(f"Workspace: {session.workspace_name or '—'}")
        locked = session.is_locked
        missing = locked and session.has_workspace and self._keystore_state() == "missing"
        if missing:
            self.lock_label.setText("Keystore: none yet")
            self.lock_action.setText("Create keystore…")
        else:
            self.lock_label.setText("Keystore: locked" if locked else "Keystore: unlocked")
            self.lock_action.setText("Unlock…" if locked else "Lock")
        self.lock_action.setIcon(icon("unlock" if locked else "lock"))
        report = session.last_chain_report
        if report is None:
            self.chain_label.setText("Audit chain: not checked yet")
            self.chain_label.setStyleSheet("color: #5b6577;")
        else:
            self.chain_label.setText(chain_summary(report))
            self.chain_label.setStyleSheet("color: #1a7f4b;" if report.ok
                                           else "color: #b3261e; font-weight: 600;")

    def _keystore_state(self) -> str:
        from core.errors import PrismError

        try:
            return self.session.keystore_state()
        except PrismError:
            return "damaged"

    def _toggle_lock(self) -> None:
        if self.session.is_locked:
            self.unlock()
        else:
            self.session.lock()

    def unlock(self) -> None:
        if self.unlock_dialog is None and self.session.has_workspace:
            spawn(self._run_unlock())

    async def _run_unlock(self) -> None:
        self.unlock_dialog = UnlockDialog(self.session, self)
        try:
            await run_dialog(self.unlock_dialog)
        finally:
            self.unlock_dialog = None

    def auto_unlock(self) -> None:
        """A keyring-mode keystore opens without asking: its key comes from the OS keyring."""
        if not self.session.has_workspace or not self.session.is_locked:
            return
        try:
            mode = self.session.keystore_state()
        except Exception as error:  # noqa: BLE001 - a damaged header is shown, not raised
            self.message_bar.show_error(error)
            return
        if mode == "keyring":
            Op(self.session.unlock, None).failure(self.message_bar.show_error).run()

    def _unexpected_error(self, error: BaseException) -> None:
        self.message_bar.show_message(error_text(error), "error")
        self._previous_handler(error)

    def closeEvent(self, event: QCloseEvent) -> None:
        set_error_handler(self._previous_handler)
        super().closeEvent(event)

