"""Dialogs of the Keys view: generate a key, export its public half, choose a private export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.asyncio_support import Op, spawn
from app.models.keys_model import TYPE_NAMES
from app.resources import icon
from app.files import write_file
from app.session import Session
from app.views.prompts import choose_save_file
from app.views.widgets.busy import BusyIndicator
from app.views.widgets.message_bar import MessageBar, error_text

if TYPE_CHECKING:
    from core.keys.keystore import KeyEntry


class GenerateKeyDialog(QDialog):
    """Name and type; the key is generated in a worker while the dialog shows a busy bar."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.op: Op | None = None
        self.entry: KeyEntry | None = None
        self.setWindowTitle("Generate key")
        self.setWindowIcon(icon("add"))
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. data-provider-2025")
        self.name.setMaxLength(64)
        self.key_type = QComboBox()
        for value, text in TYPE_NAMES.items():
            self.key_type.addItem(text, value)
        self.key_type.setCurrentIndex(list(TYPE_NAMES).index("ecdsa-p256"))
        self.label = QLineEdit()
        self.label.setPlaceholderText("optional note")
        form.addRow("Name:", self.name)
        form.addRow("Type:", self.key_type)
        form.addRow("Label:", self.label)
        layout.addLayout(form)
        hint = QLabel("RSA-4096 takes a few seconds to generate; the others are instant.")
        hint.setStyleSheet("color: #5b6577;")
        layout.addWidget(hint)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        self.busy = BusyIndicator()
        layout.addWidget(self.busy)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Generate")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        if self.op is not None:
            return
        name = self.name.text().strip()
        if not name:
            self._show_error("Give the key a name (letters, digits, '.', '_' or '-').")
            return
        self.error.hide()
        key_type = self.key_type.currentData()
        self.buttons.setEnabled(False)
        self.busy.start(f"Generating {TYPE_NAMES[key_type]} key…")
        self.op = (Op(self.session.generate_key, name, key_type, self.label.text().strip())
                   .success(self._generated).failure(lambda e: self._show_error(error_text(e)))
                   .done(self._finished))
        self.op.run()

    def _generated(self, entry: KeyEntry) -> None:
        self.entry = entry
        self.accept()

    def _finished(self) -> None:
        self.op = None
        self.busy.stop()
        self.buttons.setEnabled(True)

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def reject(self) -> None:
        if self.op is None:  # the key is being written; closing now would hide the outcome
            super().reject()


PUBLIC_FORMATS = (("pem", "PEM (SubjectPublicKeyInfo)", ".pem"),
                  ("der-b64", "Base64 DER (as in a Cocos manifest)", ".b64"))


class ExportPublicDialog(QDialog):
    """Shows the public key in the chosen format, with Copy and Save buttons."""

    def __init__(self, session: Session, entry: KeyEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.entry = entry
        self._cache: dict[str, str] = {}
        self.setWindowTitle(f"Public key of {entry.name}")
        self.setWindowIcon(icon("export"))
        self.resize(560, 360)
        layout = QVBoxLayout(self)
        self.bar = MessageBar()
        layout.addWidget(self.bar)
        form = QFormLayout()
        self.fmt = QComboBox()
        for value, text, _suffix in PUBLIC_FORMATS:
            self.fmt.addItem(text, value)
        form.addRow("Format:", self.fmt)
        layout.addLayout(form)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton(icon("copy"), "Copy")
        self.save_button = QPushButton(icon("export"), "Save…")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy)
        self.save_button.clicked.connect(lambda: spawn(self.save()))
        layout.addWidget(buttons)
        self.fmt.currentIndexChanged.connect(self.load)
        self.load()

    @property
    def current_format(self) -> str:
        return str(self.fmt.currentData())

    def load(self) -> None:
        fmt = self.current_format
        if fmt in self._cache:
            self.text.setPlainText(self._cache[fmt])
            return
        self.text.setPlainText("")
        (Op(self.session.export_public, self.entry.name, fmt)
         .success(lambda value: self._loaded(fmt, value)).failure(self.bar.show_error).run())

    def _loaded(self, fmt: str, value: str) -> None:
        self._cache[fmt] = value
        if fmt == self.current_format:
            self.text.setPlainText(value)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())
        self.bar.show_message("Copied to the clipboard.", "success")

    async def save(self) -> None:
        suffix = dict((v, s) for v, _t, s in PUBLIC_FORMATS)[self.current_format]
        target = await choose_save_file(self, "Save public key", f"{self.entry.name}.pub{suffix}")
        if target is not None:
            self.save_to(target)

    def save_to(self, target: Path) -> None:
        text = self.text.toPlainText()
        data = (text if text.endswith("\n") else text + "\n").encode()
        try:
            write_file(target, data)
        except OSError as error:
            self.bar.show_error(f"Could not write {target}: {error.strerror}")
            return
        self.bar.show_message(f"Saved to {target}", "success")


class PrivateExportChoice(QDialog):
    """Encrypted PKCS#8 (recommended) or the unencrypted cocos-cli layout."""

    def __init__(self, entry: KeyEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export private key {entry.name}")
        self.setWindowIcon(icon("export"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("How should the private key leave the keystore?"))
        self.pkcs8 = QRadioButton("Encrypted PKCS#8 file, protected by a password (recommended)")
        self.cocos = QRadioButton("cocos-cli layout: private.pem + public.pem, UNENCRYPTED on disk")
        self.pkcs8.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.pkcs8)
        group.addButton(self.cocos)
        layout.addWidget(self.pkcs8)
        layout.addWidget(self.cocos)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Continue…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @property
    def choice(self) -> str:
        return "cocos-cli" if self.cocos.isChecked() else "pkcs8"
