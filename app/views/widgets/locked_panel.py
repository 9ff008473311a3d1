"""Shown instead of a view that needs the keystore while it is locked or missing."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.resources import icon


class LockedPanel(QWidget):
    unlockRequested = Signal()

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._what = what
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        picture = QLabel()
        picture.setPixmap(icon("lock").pixmap(56, 56))
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.detail = QLabel()
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        self.detail.setStyleSheet("color: #5b6577;")
        self.button = QPushButton(icon("unlock"), "Unlock…")
        self.button.clicked.connect(self.unlockRequested)
        layout.addWidget(picture)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(2)
        self.set_state("passphrase")

    def set_state(self, keystore_state: str) -> None:
        """"missing", "passphrase"/"keyring" (locked) or "opening" (no workspace yet)."""
        self.button.setVisible(keystore_state != "opening")
        if keystore_state == "opening":
            self.title.setText("Opening the workspace…")
            self.detail.setText("")
        elif keystore_state == "missing":
            self.title.setText("This workspace has no keystore yet")
            self.detail.setText(f"Create one to hold {self._what}. Private keys never leave it "
                                "unencrypted.")
            self.button.setText("Create keystore…")
        else:
            self.title.setText("The keystore is locked")
            self.detail.setText(f"Unlock it to see and manage {self._what}.")
            self.button.setText("Unlock…")
