"""An inline busy indicator: an indeterminate bar and a short sentence of what is running."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget


class BusyIndicator(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # indeterminate: Argon2id and RSA keygen report no fraction
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(10)
        self.bar.setMaximumWidth(160)
        self.label = QLabel()
        layout.addWidget(self.bar)
        layout.addWidget(self.label, 1)
        self.hide()

    def start(self, text: str) -> None:
        self.label.setText(text)
        self.show()

    def stop(self) -> None:
        self.hide()

    @property
    def busy(self) -> bool:
        return self.isVisible() or not self.isHidden()
