"""The toolbar's workspace switcher: a combo box plus create, rename and delete."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QToolBar, QWidget

from app.asyncio_support import spawn
from app.resources import icon
from app.session import Session
from app.views.prompts import ask_text, confirm
from app.views.widgets.message_bar import error_text

NAME_RULE = "1-64 letters, digits, '.', '_' or '-', not starting with '.'"


class WorkspaceBar(QToolBar):
    def __init__(self, session: Session, report: Callable[[str, str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__("Workspace", parent)
        self.session = session
        self._report = report  # (text, kind) -> shown by the window's message bar
        self.setObjectName("workspaceBar")
        self.setMovable(False)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        title = QLabel("  Workspace: ")
        title.setStyleSheet("font-weight: 600;")
        self.addWidget(title)
        self.combo = QComboBox()
        self.combo.setMinimumWidth(200)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.setToolTip("Switch workspace: each one has its own keys, CA and audit log")
        self.combo.activated.connect(self._chosen)
        self.addWidget(self.combo)
        self.create_action = self.addAction(icon("add"), "New…")
        self.rename_action = self.addAction(icon("rename"), "Rename…")
        self.delete_action = self.addAction(icon("delete"), "Delete…")
        self.create_action.setToolTip("Create a new workspace and switch to it")
        self.rename_action.setToolTip("Rename the current workspace")
        self.delete_action.setToolTip("Delete the current workspace and everything in it")
        self.create_action.triggered.connect(lambda: spawn(self.create()))
        self.rename_action.triggered.connect(lambda: spawn(self.rename()))
        self.delete_action.triggered.connect(lambda: spawn(self.delete()))
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        session.workspacesChanged.connect(self.reload)
        session.workspaceChanged.connect(lambda _name: self.reload())
        self.reload()

    def reload(self) -> None:
        with QSignalBlocker(self.combo):
            self.combo.clear()
            for name in self.session.workspace_names():
                self.combo.addItem(icon("workspace"), name, name)
            index = self.combo.findData(self.session.workspace_name)
            if index >= 0:
                self.combo.setCurrentIndex(index)

    def _chosen(self, index: int) -> None:
        name = self.combo.itemData(index)
        if name and name != self.session.workspace_name:
            self._guard(lambda: self.session.open_workspace(name), f"Switched to “{name}”.")

    def _guard(self, action: Callable[[], object], success: str) -> bool:
        from core.errors import PrismError

        try:
            action()
        except PrismError as error:
            self._report(error_text(error), "error")
            self.reload()
            return False
        self._report(success, "success")
        return True

    async def create(self) -> None:
        name = await ask_text(self, "New workspace", f"Name of the new workspace ({NAME_RULE}):")
        if name:
            self._guard(lambda: self.session.create_workspace(name), f"Created workspace “{name}”.")

    async def rename(self) -> None:
        old = self.session.workspace_name
        if not old:
            return
        new = await ask_text(self, "Rename workspace", f"New name for “{old}” ({NAME_RULE}):", old)
        if new and new != old:
            self._guard(lambda: self.session.rename_workspace(old, new),
                        f"Renamed “{old}” to “{new}”.")

    async def delete(self) -> None:
        name = self.session.workspace_name
        if not name:
            return
        sure = await confirm(
            self, "Delete workspace", f"Delete the workspace “{name}” and everything in it?",
            informative="Its keystore (every private key), its certificate authority and its audit "
                        "log are removed from this computer. This cannot be undone.",
            accept_text=f"Delete “{name}”", destructive=True)
        if sure:
            self._guard(lambda: self.session.delete_workspace(name), f"Deleted workspace “{name}”.")
