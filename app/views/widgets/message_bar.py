"""A one-line message strip shown above a view: errors from core appear here, in place."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from app.resources import icon

STYLES = {
    "info": ("info", "#e8f0fe", "#1c3d7a", "#9bb5f0"),
    "success": ("ok", "#e6f4ea", "#14532d", "#8fd1a8"),
    "error": ("error", "#fdecea", "#7a1d16", "#f1a9a1"),
}


class MessageBar(QFrame):
    """Hidden until ``show_message``; the close button hides it again."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.kind = "info"
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self._icon = QLabel()
        self._icon.setFixedSize(18, 18)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str, kind: str = "info") -> None:
        icon_name, background, foreground, border = STYLES.get(kind, STYLES["info"])
        self.kind = kind
        self._icon.setPixmap(icon(icon_name).pixmap(18, 18))
        self.label.setText(text)
        self.setStyleSheet(
            f"#messageBar {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 6px; }} #messageBar QLabel {{ color: {foreground}; }}")
        self.show()

    def show_error(self, error: BaseException | str) -> None:
        self.show_message(error_text(error), "error")

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


def error_text(error: BaseException | str) -> str:
    """Core errors carry a message meant for people; anything else is a bug, said plainly."""
    if isinstance(error, str):
        return error
    from core.errors import PrismError

    if isinstance(error, PrismError):
        return str(error)
    return f"Unexpected error ({type(error).__name__}): {error}"
