"""Dialogs of the Certificates view: initialise the CA, issue a certificate, revoke one."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.asyncio_support import spawn
from app.resources import icon
from app.views.prompts import choose_directory


def _error_label() -> QLabel:
    label = QLabel()
    label.setStyleSheet("color: #b3261e;")
    label.setWordWrap(True)
    label.hide()
    return label


def _ok_cancel(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.rejected.connect(dialog.reject)
    return buttons


class InitCADialog(QDialog):
    def __init__(self, workspace_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Initialise certificate authority")
        self.setWindowIcon(icon("certificate"))
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        intro = QLabel("Creates an ECDSA P-384 root for this workspace. Its private key stays in the "
                       "keystore; it signs the TLS certificates of your CVMS and agents.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.common_name = QLineEdit()
        self.common_name.setPlaceholderText(f"Prism Desktop CA ({workspace_name})")
        self.days = QSpinBox()
        self.days.setRange(1, 36500)
        self.days.setValue(3650)
        self.days.setSuffix(" days")
        form.addRow("Common name:", self.common_name)
        form.addRow("Valid for:", self.days)
        layout.addLayout(form)
        buttons = _ok_cancel(self, "Initialise")
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)


class IssueDialog(QDialog):
    """CN, SANs, usage, lifetime, and the folder that receives the certificate and its key."""

    def __init__(self, parent: QWidget | None = None, *, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Issue certificate")
        self.setWindowIcon(icon("add"))
        self.setMinimumWidth(600)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.common_name = QLineEdit()
        self.common_name.setPlaceholderText("e.g. cvms.example.org")
        self.sans = QLineEdit()
        self.sans.setPlaceholderText("localhost, 127.0.0.1, DNS:cvms.lan  (comma separated)")
        self.usage = QComboBox()
        self.usage.addItem("Server (TLS serverAuth)", "server")
        self.usage.addItem("Client (TLS clientAuth)", "client")
        self.days = QSpinBox()
        self.days.setRange(1, 3650)
        self.days.setValue(397)
        self.days.setSuffix(" days")
        self.folder = QLineEdit(str(folder) if folder else "")
        self.folder.setPlaceholderText("folder for <name>.crt.pem and <name>.key.pem")
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: spawn(self._browse()))
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form.addRow("Common name:", self.common_name)
        form.addRow("Alternative names:", self.sans)
        form.addRow("Usage:", self.usage)
        form.addRow("Valid for:", self.days)
        form.addRow("Write files to:", row)
        layout.addLayout(form)
        note = QLabel("The key file is written unencrypted (mode 0600) for the server or client that "
                      "uses it; a copy stays in the keystore.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #5b6577;")
        layout.addWidget(note)
        self.error = _error_label()
        layout.addWidget(self.error)
        buttons = _ok_cancel(self, "Issue")
        buttons.accepted.connect(self._check)
        layout.addWidget(buttons)

    async def _browse(self) -> None:
        directory = await choose_directory(self, "Folder for the certificate and key")
        if directory is not None:
            self.folder.setText(str(directory))

    def _check(self) -> None:
        if not self.common_name.text().strip():
            self._fail("Enter a common name.")
        elif not self.folder.text().strip():
            self._fail("Choose the folder that receives the certificate and key files.")
        elif not Path(self.folder.text().strip()).is_dir():
            self._fail(f"The folder {self.folder.text().strip()} does not exist.")
        else:
            self.accept()

    def _fail(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def values(self) -> dict[str, object]:
        sans = tuple(part.strip() for part in self.sans.text().split(",") if part.strip())
        return {"common_name": self.common_name.text().strip(), "sans": sans,
                "usage": self.usage.currentData(), "days": self.days.value(),
                "out_dir": Path(self.folder.text().strip())}


class RevokeDialog(QDialog):
    def __init__(self, common_name: str, serial: str, reasons: tuple[str, ...],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Revoke certificate")
        self.setWindowIcon(icon("revoke"))
        layout = QVBoxLayout(self)
        text = QLabel(f"Revoke the certificate of “{common_name}” (serial {serial[:16]}…)?\n"
                      "Clients that check the CRL or OCSP will refuse it. This cannot be undone.")
        text.setWordWrap(True)
        layout.addWidget(text)
        form = QFormLayout()
        self.reason = QComboBox()
        for reason in reasons:
            self.reason.addItem(reason, reason)
        form.addRow("Reason:", self.reason)
        layout.addLayout(form)
        buttons = _ok_cancel(self, "Revoke")
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)

    @property
    def chosen_reason(self) -> str:
        return str(self.reason.currentData())
