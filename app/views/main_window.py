"""The main window: workspace toolbar, navigation sidebar, the views, and a status bar.

Each view is imported and built the first time it is shown or asked for (``window.keys_view``,
``window.view("audit")``): start-up pays only for the view that starts selected. Until then its
slot in the stack holds an empty placeholder, so the stack keeps the sidebar's order.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

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
from app.views.widgets.chain_banner import chain_summary
from app.views.widgets.message_bar import MessageBar, error_text
from app.views.workspace_bar import WorkspaceBar

if TYPE_CHECKING:
    from app.views.audit_view import AuditView
    from app.views.certificates_view import CertificatesView
    from app.views.collateral_view import CollateralView
    from app.views.inspector_view import InspectorView
    from app.views.keys_view import KeysView
    from app.views.sandbox_view import SandboxView
    from app.views.unlock_dialog import UnlockDialog

VIEWS = (("keys", "Keys", "keys"), ("certificates", "Certificates", "certificate"),
         ("audit", "Audit log", "audit"), ("inspector", "Attestation", "inspector"),
         ("collateral", "Collateral", "collateral"), ("sandbox", "Sandbox", "sandbox"))
VIEW_KEYS = tuple(key for key, _title, _icon in VIEWS)
# module and class of each view, imported on first use
VIEW_CLASSES = {"keys": ("app.views.keys_view", "KeysView"),
                "certificates": ("app.views.certificates_view", "CertificatesView"),
                "audit": ("app.views.audit_view", "AuditView"),
                "inspector": ("app.views.inspector_view", "InspectorView"),
                "collateral": ("app.views.collateral_view", "CollateralView"),
                "sandbox": ("app.views.sandbox_view", "SandboxView")}
# views whose locked panel offers to unlock the keystore
UNLOCKING_VIEWS = ("keys", "certificates")
SIDEBAR_INK = "#dfe5ff"
SIDEBAR_STYLE = """
QListWidget#sidebar { background: #1f2740; color: #e8ecff; border: none; padding-top: 8px;
                      font-size: 14px; outline: 0; }
QListWidget#sidebar::item { padding: 10px 12px; border-radius: 6px; margin: 2px 8px; }
QListWidget#sidebar::item:selected { background: #3a4fc4; color: #ffffff; }
QListWidget#sidebar::item:hover:!selected { background: #2c365a; }
"""


class MainWindow(QMainWindow):
    def __init__(self, session: Session, parent: QWidget | None = None, *, view: str = "keys") -> None:
        """``view``: the view selected at start, the only one built before the window shows."""
        super().__init__(parent)
        self.session = session
        self.unlock_dialog: UnlockDialog | None = None
        self.views: dict[str, QWidget] = {}  # the views built so far, by key
        self._chain_checking = False
        self._chain_again = False
        self.setWindowTitle("Prism Desktop")
        self.setWindowIcon(icon("prism-desktop"))
        self.resize(1100, 680)
        self.message_bar = MessageBar()
        self.workspace_bar = WorkspaceBar(session, self.message_bar.show_message, self)
        self.addToolBar(self.workspace_bar)
        self._add_lock_action()
        self._build_center(view)
        self._build_status_bar()
        session.workspaceChanged.connect(self._workspace_changed)
        session.lockedChanged.connect(self._locked_changed)
        session.chainChecked.connect(self._chain_checked)
        session.auditChanged.connect(self._check_chain)
        self._previous_handler = set_error_handler(self._unexpected_error)
        self._update_status()

    # --- layout --------------------------------------------------------------------------

    def _add_lock_action(self) -> None:
        self.lock_action = self.workspace_bar.addAction(icon("lock"), "Lock")
        self.lock_action.triggered.connect(self._toggle_lock)

    def _build_center(self, initial: str) -> None:
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setStyleSheet(SIDEBAR_STYLE)
        self.sidebar.setIconSize(QSize(22, 22))
        self.sidebar.setFixedWidth(190)
        self.stack = QStackedWidget()
        for key, title, icon_name in VIEWS:
            item = QListWidgetItem(icon(icon_name, SIDEBAR_INK), title)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.sidebar.addItem(item)
            self.stack.addWidget(QWidget())  # placeholder until the view is first shown
        # built before the first paint; a view that fails here fails the window, as it should
        self.view(initial)
        self.sidebar.setCurrentRow(VIEW_KEYS.index(initial))
        self.stack.setCurrentIndex(VIEW_KEYS.index(initial))
        self.sidebar.currentRowChanged.connect(self._row_changed)
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
        self.sidebar.setCurrentRow(VIEW_KEYS.index(key))

    @property
    def current_view(self) -> str:
        return VIEW_KEYS[self.sidebar.currentRow()]

    # --- views, built on first use ------------------------------------------------------------

    def _row_changed(self, row: int) -> None:
        if row < 0:
            return
        try:
            self.view(VIEW_KEYS[row])
        except Exception as error:  # noqa: BLE001 - a view that cannot be built is reported, not fatal
            self._unexpected_error(error)
        self.stack.setCurrentIndex(row)

    def view(self, key: str) -> QWidget:
        """The view named ``key`` (one of ``VIEW_KEYS``), built now if it was not yet."""
        built = self.views.get(key)
        return built if built is not None else self._build_view(key)

    def build_views(self) -> None:
        """Build every view not built yet (self-checks and screenshots show them all)."""
        for key in VIEW_KEYS:
            self.view(key)

    def _build_view(self, key: str) -> QWidget:
        module_name, class_name = VIEW_CLASSES[key]
        view = cast("QWidget", getattr(importlib.import_module(module_name), class_name)(self.session))
        self.views[key] = view
        self._replace_placeholder(VIEW_KEYS.index(key), view)
        if key in UNLOCKING_VIEWS:
            view.locked_panel.unlockRequested.connect(self.unlock)  # type: ignore[attr-defined]
        if key == "audit" and self.session.has_workspace:
            # it checks the chain on every change from now on; its banner starts from a fresh check
            view.verify_chain()  # type: ignore[attr-defined]
        return view

    def _replace_placeholder(self, index: int, view: QWidget) -> None:
        placeholder = self.stack.widget(index)
        was_current = self.stack.currentIndex() == index
        self.stack.insertWidget(index, view)
        self.stack.removeWidget(placeholder)
        placeholder.deleteLater()
        if was_current:
            self.stack.setCurrentIndex(index)

    @property
    def keys_view(self) -> KeysView:
        return cast("KeysView", self.view("keys"))

    @property
    def certificates_view(self) -> CertificatesView:
        return cast("CertificatesView", self.view("certificates"))

    @property
    def audit_view(self) -> AuditView:
        return cast("AuditView", self.view("audit"))

    @property
    def inspector_view(self) -> InspectorView:
        return cast("InspectorView", self.view("inspector"))

    @property
    def collateral_view(self) -> CollateralView:
        return cast("CollateralView", self.view("collateral"))

    @property
    def sandbox_view(self) -> SandboxView:
        return cast("SandboxView", self.view("sandbox"))

    # --- state ---------------------------------------------------------------------------

    def _workspace_changed(self, _name: str) -> None:
        self._update_status()
        self._check_chain()
        self.auto_unlock()

    def _locked_changed(self, _locked: bool) -> None:
        self._update_status()

    def _chain_checked(self, report: object) -> None:
        self._update_status()

    def _check_chain(self) -> None:
        """Keep the status bar's chain summary current while the audit view, which checks the
        chain on every change once built, is not built yet."""
        if "audit" in self.views or not self.session.has_workspace:
            return
        if self._chain_checking:
            self._chain_again = True  # changed while a check runs: check once more after it
            return
        self._chain_checking, self._chain_again = True, False
        (Op(self.session.verify_chain).success(self.session.announce_chain)
         .failure(lambda error: self.message_bar.show_message(
             f"Could not check the audit chain: {error_text(error)}", "error"))
         .done(self._chain_check_done).run())

    def _chain_check_done(self) -> None:
        self._chain_checking = False
        if self._chain_again:
            self._check_chain()

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
        from app.views.unlock_dialog import UnlockDialog

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

