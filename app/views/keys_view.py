"""The Keys view: the keystore's entries, their details and every action on them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QMenu,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.asyncio_support import Op, run_dialog, spawn
from app.models.keys_model import COL_CREATED, COL_FINGERPRINT, COL_NAME, COL_TYPE, KeysModel, type_name
from app.resources import icon
from app.session import Session
from app.views.key_dialogs import ExportPublicDialog, GenerateKeyDialog, PrivateExportChoice
from app.views.prompts import ask_password, choose_directory, choose_open_files, choose_save_file, confirm
from app.views.widgets.busy import BusyIndicator
from app.views.widgets.details_panel import DetailsPanel
from app.views.widgets.drop_table import DropTable
from app.views.widgets.locked_panel import LockedPanel
from app.views.widgets.message_bar import MessageBar

if TYPE_CHECKING:
    from core.keys.keystore import KeyEntry

KEY_FILE_FILTER = "Key files (*.pem *.key *.der *.p8 *.pk8);;All files (*)"
ROLES = ("algorithm-provider", "data-provider", "consumer")


class KeysView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = KeysModel(self)
        self.locked_panel = LockedPanel("your participant keys")
        self._build()
        session.keysChanged.connect(self.refresh)
        session.lockedChanged.connect(self._locked_changed)
        session.workspaceChanged.connect(lambda _name: self._locked_changed(session.is_locked))
        self._locked_changed(session.is_locked)

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        self.bar = MessageBar()
        layout.addWidget(self.bar)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.locked_panel)
        self.stack.addWidget(self._build_main())
        layout.addWidget(self.stack, 1)

    def _build_main(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_toolbar())
        self.busy = BusyIndicator()
        layout.addWidget(self.busy)
        self.table = DropTable("No keys yet.\nGenerate one, import a key file, or drop key files here.")
        self.table.setModel(self.model)
        self.table.filesDropped.connect(lambda paths: spawn(self.import_files(paths)))
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        for column, width in ((COL_NAME, 250), (COL_TYPE, 110), (COL_FINGERPRINT, 180),
                              (COL_CREATED, 130)):
            self.table.setColumnWidth(column, width)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self._build_details())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        return page

    def _build_toolbar(self) -> QToolBar:
        bar = QToolBar()
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.generate_action = bar.addAction(icon("add"), "Generate…")
        self.import_action = bar.addAction(icon("import"), "Import…")
        bar.addSeparator()
        self.export_public_action = bar.addAction(icon("export"), "Export public…")
        self.export_private_action = bar.addAction(icon("export"), "Export private…")
        self.sign_menu = QMenu(self)
        for role in ROLES:
            self.sign_menu.addAction(role).triggered.connect(
                lambda _checked=False, r=role: self.copy_role_signature(r))
        self.sign_button = QToolButton()
        self.sign_button.setText("Role signature")
        self.sign_button.setIcon(icon("signature"))
        self.sign_button.setToolTip("Copy this key's signature of a Cocos role to the clipboard")
        self.sign_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.sign_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.sign_button.setMenu(self.sign_menu)
        bar.addWidget(self.sign_button)
        bar.addSeparator()
        self.delete_action = bar.addAction(icon("delete"), "Delete…")
        self.generate_action.triggered.connect(lambda: spawn(self.generate()))
        self.import_action.triggered.connect(lambda: spawn(self.choose_and_import()))
        self.export_public_action.triggered.connect(lambda: spawn(self.export_public()))
        self.export_private_action.triggered.connect(lambda: spawn(self.export_private()))
        self.delete_action.triggered.connect(lambda: spawn(self.delete_selected()))
        self._selection_actions: list[QAction | QToolButton] = [
            self.export_public_action, self.export_private_action, self.delete_action, self.sign_button]
        return bar

    def _build_details(self) -> QWidget:
        self.details = DetailsPanel((("name", "Name"), ("type", "Type"), ("fingerprint", "Fingerprint"),
                                     ("created", "Created"), ("label", "Label"), ("purpose", "Purpose")),
                                    monospace=("fingerprint",))
        self.detail_labels = self.details.labels
        return self.details

    # --- state ---------------------------------------------------------------------------

    def _locked_changed(self, locked: bool) -> None:
        if locked:
            self.model.set_rows([])
            self.locked_panel.set_state(self.session.keystore_state()
                                        if self.session.has_workspace else "opening")
            self.stack.setCurrentWidget(self.locked_panel)
        else:
            self.stack.setCurrentIndex(1)
            self.refresh()
        self._selection_changed()

    def refresh(self, select: str | None = None) -> None:
        """Reload the entries in a worker; keep the selection, or select ``select``."""
        if self.session.is_locked:
            return
        selected = self.selected_entry()
        keep = select or (selected.name if selected else None)
        Op(self.session.list_keys).success(lambda rows: self._set_rows(rows, keep)).failure(
            self.bar.show_error).run()

    def _set_rows(self, rows: list[KeyEntry], keep: str | None) -> None:
        self.model.set_rows(rows)
        row = self.model.row_of(keep) if keep else -1
        if row < 0 and rows:
            row = 0  # always show someone's details rather than an empty panel
        if row >= 0:
            self.table.selectRow(row)
        self._selection_changed()

    def selected_entry(self) -> KeyEntry | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.entry(rows[0].row()) if rows else None

    def select(self, name: str) -> None:
        row = self.model.row_of(name)
        if row >= 0:
            self.table.selectRow(row)

    def _selection_changed(self, *_args: object) -> None:
        entry = self.selected_entry()
        for action in self._selection_actions:
            action.setEnabled(entry is not None)
        self.details.show_values(None if entry is None else {
            "name": entry.name, "type": type_name(entry.key_type), "fingerprint": entry.fingerprint,
            "created": entry.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
            "label": entry.label, "purpose": entry.purpose})

    def _context_menu(self, position) -> None:  # type: ignore[no-untyped-def]
        if self.selected_entry() is None:
            return
        menu = QMenu(self)
        menu.addAction(icon("copy"), "Copy fingerprint").triggered.connect(self.copy_fingerprint)
        menu.addAction(self.export_public_action)
        menu.addAction(self.export_private_action)
        menu.addMenu(self.sign_menu).setText("Copy role signature")
        menu.addSeparator()
        menu.addAction(self.delete_action)
        menu.popup(self.table.viewport().mapToGlobal(position))

    # --- actions -------------------------------------------------------------------------

    async def generate(self) -> None:
        dialog = GenerateKeyDialog(self.session, self)
        await run_dialog(dialog)
        if dialog.entry is not None:
            self.bar.show_message(f"Generated key “{dialog.entry.name}”.", "success")
            self.refresh(select=dialog.entry.name)

    async def choose_and_import(self) -> None:
        paths = await choose_open_files(self, "Import key files", KEY_FILE_FILTER)
        if paths:
            await self.import_files(paths)

    async def import_files(self, paths: list[Path]) -> list[KeyEntry]:
        """Import each file; an encrypted one asks for its password until right or cancelled."""
        imported: list[KeyEntry] = []
        for path in paths:
            entry = await self._import_one(Path(path))
            if entry is None:
                break
            imported.append(entry)
        if imported:
            names = ", ".join(f"“{entry.name}”" for entry in imported)
            self.bar.show_message(f"Imported {names}.", "success")
            self.refresh(select=imported[-1].name)
        return imported

    async def _import_one(self, path: Path) -> KeyEntry | None:
        from core.errors import PrismError, WrongPassphrase

        password: bytes | None = None
        while True:
            self.busy.start(f"Importing {path.name}…")
            try:
                return await asyncio.to_thread(self.session.import_key_file, path, password=password)
            except WrongPassphrase:
                hint = "" if password is None else "Wrong password; try again."
            except PrismError as error:
                self.bar.show_error(f"{path.name}: {error}")
                return None
            finally:
                self.busy.stop()
            password = await ask_password(self, "Encrypted key",
                                          f"{path.name} is encrypted. Enter its password to import it.",
                                          error=hint)
            if password is None:
                self.bar.show_message(f"Import of {path.name} cancelled.", "info")
                return None

    async def export_public(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            await run_dialog(ExportPublicDialog(self.session, entry, self))

    async def export_private(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        choice = PrivateExportChoice(entry, self)
        if not await run_dialog(choice):
            return
        if choice.choice == "pkcs8":
            await self._export_pkcs8(entry)
        else:
            await self._export_cocos(entry)

    async def _export_pkcs8(self, entry: KeyEntry) -> None:
        password = await ask_password(self, "Protect the exported key",
                                      "Choose a password for the exported PKCS#8 file.", repeat=True)
        if password is None:
            return
        target = await choose_save_file(self, "Save encrypted private key", f"{entry.name}.key.pem")
        if target is not None:
            self._run(Op(self.session.export_private_pkcs8, entry.name, password, target),
                      "Encrypting…", f"Saved the encrypted private key to {target}")

    async def _export_cocos(self, entry: KeyEntry) -> None:
        sure = await confirm(
            self, "Write an unencrypted private key?",
            f"The cocos-cli layout stores the private key of “{entry.name}” UNENCRYPTED as private.pem.",
            informative="Anyone who can read that folder can act as you in computations. "
                        "Delete the file when cocos-cli no longer needs it.",
            accept_text="Write unencrypted files", destructive=True)
        if not sure:
            return
        directory = await choose_directory(self, "Folder for private.pem and public.pem")
        if directory is not None:
            self._run(Op(self.session.export_private_cocos, entry.name, directory),
                      "Writing…", f"Wrote private.pem and public.pem to {directory}")

    def copy_role_signature(self, role: str) -> None:
        entry = self.selected_entry()
        if entry is None:
            return

        def copied(signature: str) -> None:
            QGuiApplication.clipboard().setText(signature)
            self.bar.show_message(f"Copied the {role} signature of “{entry.name}” to the clipboard.",
                                  "success")

        Op(self.session.sign_role, entry.name, role).success(copied).failure(self.bar.show_error).run()

    def copy_fingerprint(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            QGuiApplication.clipboard().setText(entry.fingerprint)
            self.bar.show_message("Copied the fingerprint.", "success")

    async def delete_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        sure = await confirm(self, "Delete key", f"Delete the key “{entry.name}”?",
                             informative=f"Fingerprint {entry.fingerprint}\nThis cannot be undone; "
                                         "export it first if you may need it again.",
                             accept_text="Delete", destructive=True)
        if sure:
            self._run(Op(self.session.delete_key, entry.name), "Deleting…",
                      f"Deleted the key “{entry.name}”.")

    def _run(self, op: Op, busy_text: str, done_text: str) -> None:
        self.busy.start(busy_text)
        (op.success(lambda _result: (self.bar.show_message(done_text, "success"), self.refresh()))
         .failure(self.bar.show_error).done(self.busy.stop).run())
