"""Unlock the workspace's keystore, or create one when there is none.

Argon2id takes a noticeable fraction of a second by design, so it runs in a worker (``Op``) while
the dialog shows a busy bar; a wrong passphrase is reported inside the dialog, which stays open.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.asyncio_support import Op
from app.resources import icon
from app.session import Session
from app.views.widgets.busy import BusyIndicator
from app.views.widgets.message_bar import error_text

MIN_PASSPHRASE = 8


class UnlockDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.creating = session.keystore_state() == "missing"
        self.setWindowTitle("Create keystore" if self.creating else "Unlock keystore")
        self.setWindowIcon(icon("lock"))
        self.setMinimumWidth(520)
        self.op: Op[None] | None = None
        self._build()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel(self._intro())
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("passphrase")
        form.addRow("Passphrase:", self.passphrase)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.use_keyring = QCheckBox("Keep the key in the system keyring instead of a passphrase")
        if self.creating:
            form.addRow("Repeat:", self.repeat)
            usable = self.session.keyring_usable()
            self.use_keyring.setEnabled(usable)
            if not usable:
                self.use_keyring.setToolTip("No secure system keyring is available on this machine")
            self.use_keyring.toggled.connect(self._keyring_toggled)
            form.addRow("", self.use_keyring)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("unlockError")
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        self.busy = BusyIndicator()
        layout.addWidget(self.busy)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Create" if self.creating else "Unlock")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _intro(self) -> str:
        name = self.session.workspace_name
        if self.creating:
            return (f"Workspace “{name}” has no keystore yet. Choose a passphrase (at least "
                    f"{MIN_PASSPHRASE} characters): it encrypts every private key at rest and cannot "
                    "be recovered if lost.")
        return f"Enter the passphrase of the keystore of workspace “{name}”."

    def _keyring_toggled(self, on: bool) -> None:
        self.passphrase.setEnabled(not on)
        self.repeat.setEnabled(not on)

    # --- actions -------------------------------------------------------------------------

    def submit(self) -> None:
        if self.op is not None:
            return  # one Argon2id at a time
        problem = self._validate()
        if problem:
            self.show_error(problem)
            return
        self.error.hide()
        if self.creating:
            keyring_mode = self.use_keyring.isChecked()
            op = Op(self.session.create_keystore, None if keyring_mode else self.passphrase.text(),
                    use_keyring=keyring_mode)
            self._start(op, "Creating the keystore…")
        else:
            self._start(Op(self.session.unlock, self.passphrase.text()), "Unlocking…")

    def _validate(self) -> str:
        if self.creating and self.use_keyring.isChecked():
            return ""
        text = self.passphrase.text()
        if not text:
            return "Enter the passphrase."
        if self.creating and len(text) < MIN_PASSPHRASE:
            return f"Use at least {MIN_PASSPHRASE} characters."
        if self.creating and self.repeat.text() != text:
            return "The two passphrases differ; type them again."
        return ""

    def _start(self, op: Op[None], text: str) -> None:
        self._set_working(True)
        self.busy.start(text)
        self.op = op.success(lambda _: self.accept()).failure(self._failed).done(self._finished)
        op.run()

    def _failed(self, error: BaseException) -> None:
        from core.errors import WrongPassphrase

        if isinstance(error, WrongPassphrase):
            self.show_error("Wrong passphrase. Try again.")
            self.passphrase.clear()
        else:
            self.show_error(error_text(error))
        self.passphrase.setFocus()

    def _finished(self) -> None:
        self.op = None
        self.busy.stop()
        self._set_working(False)

    def _set_working(self, working: bool) -> None:
        self.buttons.setEnabled(not working)
        self.passphrase.setEnabled(not working)
        self.repeat.setEnabled(not working)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def reject(self) -> None:
        if self.op is None:  # never abandon a keystore write half-way through
            super().reject()
