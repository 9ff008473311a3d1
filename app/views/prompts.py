"""Awaitable prompts: confirmation, text, password and file choosers, all shown with ``open()``.

Each returns ``None`` (or False) when the user cancels. File choosers use Qt's own dialog so they
behave the same on every platform and under test.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from app.asyncio_support import run_dialog


async def confirm(parent: QWidget, title: str, text: str, *, accept_text: str = "OK",
                  destructive: bool = False, informative: str = "") -> bool:
    box = QMessageBox(QMessageBox.Icon.Warning if destructive else QMessageBox.Icon.Question,
                      title, text, QMessageBox.StandardButton.NoButton, parent)
    if informative:
        box.setInformativeText(informative)
    accept = box.addButton(accept_text, QMessageBox.ButtonRole.AcceptRole
                           if not destructive else QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)  # a stray Enter never deletes anything
    await run_dialog(box)
    return box.clickedButton() is accept


async def ask_text(parent: QWidget, title: str, label: str, text: str = "") -> str | None:
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setTextValue(text)
    if await run_dialog(dialog) != QDialog.DialogCode.Accepted:
        return None
    value = dialog.textValue().strip()
    return value or None


class PasswordDialog(QDialog):
    """A masked password field, optionally twice; mismatches are reported in the dialog."""

    def __init__(self, parent: QWidget | None, title: str, prompt: str, *, repeat: bool = False,
                 error: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(380)
        layout = QVBoxLayout(self)
        message = QLabel(prompt)
        message.setWordWrap(True)
        layout.addWidget(message)
        form = QFormLayout()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Password:", self.password)
        self.repeat: QLineEdit | None = None
        if repeat:
            self.repeat = QLineEdit()
            self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
            form.addRow("Repeat:", self.repeat)
        layout.addLayout(form)
        self.error = QLabel(error)
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setWordWrap(True)
        self.error.setVisible(bool(error))
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _check(self) -> None:
        if not self.password.text():
            self._fail("Enter a password.")
        elif self.repeat is not None and self.repeat.text() != self.password.text():
            self._fail("The two passwords differ; type them again.")
        else:
            self.accept()

    def _fail(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def value(self) -> bytes:
        return self.password.text().encode()


async def ask_password(parent: QWidget, title: str, prompt: str, *, repeat: bool = False,
                       error: str = "") -> bytes | None:
    dialog = PasswordDialog(parent, title, prompt, repeat=repeat, error=error)
    if await run_dialog(dialog) != QDialog.DialogCode.Accepted:
        return None
    return dialog.value()


def _file_dialog(parent: QWidget, title: str, mode: QFileDialog.FileMode,
                 name_filter: str = "") -> QFileDialog:
    dialog = QFileDialog(parent, title)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setFileMode(mode)
    if name_filter:
        dialog.setNameFilter(name_filter)
    return dialog


async def choose_open_files(parent: QWidget, title: str, name_filter: str = "") -> list[Path]:
    dialog = _file_dialog(parent, title, QFileDialog.FileMode.ExistingFiles, name_filter)
    if await run_dialog(dialog) != QDialog.DialogCode.Accepted:
        return []
    return [Path(name) for name in dialog.selectedFiles()]


async def choose_save_file(parent: QWidget, title: str, suggested: str,
                           name_filter: str = "") -> Path | None:
    dialog = _file_dialog(parent, title, QFileDialog.FileMode.AnyFile, name_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.selectFile(suggested)
    if await run_dialog(dialog) != QDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return None
    return Path(dialog.selectedFiles()[0])


async def choose_directory(parent: QWidget, title: str) -> Path | None:
    dialog = _file_dialog(parent, title, QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    if await run_dialog(dialog) != QDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return None
    return Path(dialog.selectedFiles()[0])
