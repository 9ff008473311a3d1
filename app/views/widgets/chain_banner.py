"""The audit chain's verdict in one coloured line: green when intact, red with the problem."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from app.resources import icon

if TYPE_CHECKING:
    from core.workspace.audit import ChainReport

COLOURS = {"ok": ("#e6f4ea", "#14532d", "#8fd1a8"), "bad": ("#fdecea", "#7a1d16", "#f1a9a1"),
           "pending": ("#eef1f6", "#34425a", "#cfd6e3")}


def chain_summary(report: ChainReport) -> str:
    if report.ok:
        noun = "event" if report.checked == 1 else "events"
        return f"Audit chain intact ({report.checked} {noun})"
    return f"Audit chain broken: {report.problem}"


class ChainBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chainBanner")
        self.state = "pending"
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self._icon = QLabel()
        self._icon.setFixedSize(18, 18)
        self.label = QLabel()
        self.label.setWordWrap(True)
        layout.addWidget(self._icon)
        layout.addWidget(self.label, 1)
        self.set_pending()

    def set_pending(self, text: str = "Checking the audit chain…") -> None:
        self._apply("pending", "info", text)

    def set_report(self, report: ChainReport) -> None:
        self._apply("ok" if report.ok else "bad", "ok" if report.ok else "error",
                    chain_summary(report))

    def set_failure(self, text: str) -> None:
        self._apply("bad", "error", text)

    def _apply(self, state: str, icon_name: str, text: str) -> None:
        self.state = state
        background, foreground, border = COLOURS[state]
        self._icon.setPixmap(icon(icon_name).pixmap(18, 18))
        self.label.setText(text)
        self.setStyleSheet(
            f"#chainBanner {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 6px; }} #chainBanner QLabel {{ color: {foreground}; font-weight: 600; }}")
