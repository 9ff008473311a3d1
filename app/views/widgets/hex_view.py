"""A read-only hex dump (offset, 16 bytes, ASCII) that can highlight one byte range."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

BYTES_PER_LINE = 16
HEX_START = 10                                  # "00000000  " precedes the first byte
ASCII_START = HEX_START + BYTES_PER_LINE * 3 + 1
HIGHLIGHT = "#ffe08a"


def dump_line(offset: int, chunk: bytes) -> str:
    hex_part = " ".join(f"{b:02x}" for b in chunk).ljust(BYTES_PER_LINE * 3 - 1)
    text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
    return f"{offset:08x}  {hex_part}  {text}"


class HexView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText("The evidence's bytes appear here. Select a field to see where it lives.")
        self._size = 0
        self.selection_range: tuple[int, int] | None = None   # the highlighted [start, end)

    def set_data(self, data: bytes) -> None:
        self._size = len(data)
        self.selection_range = None
        self.setExtraSelections([])
        self.setPlainText("\n".join(dump_line(offset, data[offset:offset + BYTES_PER_LINE])
                                    for offset in range(0, len(data), BYTES_PER_LINE)))

    def highlight(self, start: int, end: int) -> None:
        """Highlight bytes [start, end) in both columns and scroll them into view."""
        start, end = max(0, start), min(end, self._size)
        if start >= end:
            self.clear_highlight()
            return
        self.selection_range = (start, end)
        fmt = QTextCharFormat()
        fmt.setBackground(QColor(HIGHLIGHT))
        selections = []
        for line in range(start // BYTES_PER_LINE, (end - 1) // BYTES_PER_LINE + 1):
            first = max(start, line * BYTES_PER_LINE) - line * BYTES_PER_LINE
            last = min(end, (line + 1) * BYTES_PER_LINE) - line * BYTES_PER_LINE
            block = self.document().findBlockByNumber(line).position()
            for column_start, column_end in ((HEX_START + first * 3, HEX_START + last * 3 - 1),
                                             (ASCII_START + first, ASCII_START + last)):
                selection = QTextEdit.ExtraSelection()
                cursor = QTextCursor(self.document())
                cursor.setPosition(block + column_start)
                cursor.setPosition(block + column_end, QTextCursor.MoveMode.KeepAnchor)
                selection.cursor = cursor  # type: ignore[attr-defined]
                selection.format = fmt  # type: ignore[attr-defined]
                selections.append(selection)
        self.setExtraSelections(selections)
        scroll = QTextCursor(self.document().findBlockByNumber(start // BYTES_PER_LINE))
        self.setTextCursor(scroll)
        self.centerCursor()

    def clear_highlight(self) -> None:
        self.selection_range = None
        self.setExtraSelections([])

    def highlighted_text(self) -> list[str]:
        """The text of each highlighted piece (hex and ASCII columns), for checks and tooltips."""
        return [s.cursor.selectedText() for s in self.extraSelections()]
