"""The inspector's headline: one large coloured statement of what the evidence proves."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.resources import icon

RED = ("#fdecea", "#7a1d16", "#f1a9a1")
AMBER = ("#fff4d6", "#6b4a00", "#e8c66b")

# state -> (icon, background, ink, border)
STATES = {
    "empty": ("inspector", "#eef1f6", "#34425a", "#cfd6e3"),
    "busy": ("info", "#e8f0fe", "#1c3d7a", "#9bb5f0"),
    "ok": ("ok", "#e6f4ea", "#14532d", "#8fd1a8"),
    # authentic but against the policy means the same as forged for the user: send nothing;
    # only the title tells the two apart
    "unacceptable": ("error", *RED),
    "bad": ("error", *RED),
    "error": ("error", *RED),
    "cancelled": ("warning", *AMBER),   # stopped by the user: nothing failed
}


class VerdictBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verdictBanner")
        self.state = "empty"
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(12)
        self._icon = QLabel()
        self._icon.setFixedSize(34, 34)
        text = QVBoxLayout()
        text.setSpacing(2)
        self.title = QLabel()
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text.addWidget(self.title)
        text.addWidget(self.detail)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text, 1)
        self.show_state("empty", "No evidence open",
                        "Open an SNP report, TDX quote or Cocos EAT, or drop it here, with its VCEK "
                        "and chain. Verification runs on this machine.")

    def show_state(self, state: str, title: str, detail: str) -> None:
        icon_name, background, ink, border = STATES[state]
        self.state = state
        self._icon.setPixmap(icon(icon_name).pixmap(34, 34))
        self.title.setText(title)
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
        self.setStyleSheet(
            f"#verdictBanner {{ background: {background}; border: 1px solid {border}; border-radius: 8px; }}"
            f" #verdictBanner QLabel {{ color: {ink}; }}")
        self.title.setStyleSheet("font-size: 17px; font-weight: 700;")
