"""Helpers for driving dialogs that views open with ``open()`` and await."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.asyncio_support import open_dialogs, wait_until

PASSPHRASE = "correct horse battery staple"


async def next_dialog(kind: type, timeout: float = 10) -> Any:
    """The newest dialog of ``kind`` awaited through run_dialog (waits for it to open)."""
    await wait_until(lambda: any(isinstance(d, kind) for d in open_dialogs()), timeout)
    return [d for d in open_dialogs() if isinstance(d, kind)][-1]


async def dialog_gone(dialog: Any, timeout: float = 30) -> None:
    await wait_until(lambda: dialog not in open_dialogs(), timeout)


async def answer_message_box(accept_text: str | None) -> str:
    """Click the button titled ``accept_text`` (or Cancel when None) on the open QMessageBox."""
    from PySide6.QtWidgets import QMessageBox

    box = await next_dialog(QMessageBox)
    text = box.text()
    if accept_text is None:
        box.button(QMessageBox.StandardButton.Cancel).click()
    else:
        [button] = [b for b in box.buttons() if b.text() == accept_text]
        button.click()
    await dialog_gone(box)
    return text


async def answer_file_dialog(path: Path) -> None:
    """Pick ``path`` in the open QFileDialog the way a user would, then accept."""
    from PySide6.QtWidgets import QFileDialog, QListView

    dialog = await next_dialog(QFileDialog)
    dialog.setDirectory(str(path.parent))
    if dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave:
        dialog.selectFile(path.name)  # typed into the name field
    else:
        view = dialog.findChild(QListView, "listView")

        def clicked() -> bool:  # the listing loads in a background thread; click once it shows
            model, root = view.model(), view.rootIndex()
            for row in range(model.rowCount(root)):
                if model.index(row, 0, root).data() == path.name:
                    view.setCurrentIndex(model.index(row, 0, root))
            return bool(dialog.selectedFiles())

        await wait_until(clicked)
    dialog.accept()
    await dialog_gone(dialog)


async def answer_text(value: str | None) -> None:
    from PySide6.QtWidgets import QInputDialog

    dialog = await next_dialog(QInputDialog)
    if value is None:
        dialog.reject()
    else:
        dialog.setTextValue(value)
        dialog.accept()
    await dialog_gone(dialog)


async def answer_directory_dialog(path: Path) -> None:
    from PySide6.QtWidgets import QFileDialog

    dialog = await next_dialog(QFileDialog)
    dialog.setDirectory(str(path))  # an empty name field accepts the directory shown
    dialog.accept()
    await dialog_gone(dialog)
