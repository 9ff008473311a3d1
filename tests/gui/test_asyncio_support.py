"""spawn, Op, run_dialog, the signal-emit workaround and resources_dir."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog

from app import asyncio_support
from app.asyncio_support import Op, cancel_pending, open_dialogs, pending_tasks, run_dialog, spawn, wait_until
from app.resources import ICON_NAMES, icon, icon_path, resources_dir
from app.signals import emit
from core.errors import BadInput


def test_spawn_keeps_the_task_and_reports_its_failure(arun, unexpected):
    async def boom():
        await asyncio.sleep(0)
        raise ValueError("broken")

    async def body():
        task = spawn(boom())
        assert task in pending_tasks()
        await asyncio.wait([task])
        assert task not in pending_tasks()

    arun(body())
    assert [str(e) for e in unexpected] == ["broken"]
    unexpected.clear()


def test_op_runs_in_a_worker_and_calls_back_on_the_gui_thread(arun):
    gui = threading.get_ident()
    seen: dict[str, object] = {}

    def work(x, y, progress):
        seen["worker"] = threading.get_ident()
        for step in range(3):
            progress(step)
        return x + y

    def progressed(step):
        seen.setdefault("progress", []).append((step, threading.get_ident() == gui))

    async def body():
        op = (Op(work, 2, 3).progress(progressed)
              .success(lambda value: seen.update(result=value, success_thread=threading.get_ident()))
              .done(lambda: seen.update(done=True)))
        return await op.run()

    assert arun(body()) == 5
    assert seen["worker"] != gui
    assert seen["result"] == 5 and seen["success_thread"] == gui and seen["done"]
    assert seen["progress"] == [(0, True), (1, True), (2, True)]


def test_op_failure_goes_to_the_failure_callback(arun, unexpected):
    def refuse():
        raise BadInput("that file is not a key")

    failures: list[BaseException] = []

    async def body():
        await Op(refuse).failure(failures.append).run()

    arun(body())
    assert [str(e) for e in failures] == ["that file is not a key"] and not unexpected


def test_op_failure_without_a_callback_reaches_the_handler(arun, unexpected):
    async def body():
        task = Op(lambda: 1 / 0).run()
        await asyncio.wait([task])

    arun(body())
    assert [type(e) for e in unexpected] == [ZeroDivisionError]
    unexpected.clear()


def test_run_dialog_uses_open_and_returns_the_result(qtbot, arun):
    dialog = QDialog()
    qtbot.addWidget(dialog)

    async def body():
        task = spawn(run_dialog(dialog))
        await wait_until(lambda: dialog in open_dialogs())
        assert dialog.isVisible() and dialog.isModal()
        dialog.accept()
        return await task

    assert arun(body()) == QDialog.DialogCode.Accepted
    assert open_dialogs() == []


def test_cancel_pending_closes_an_awaited_dialog(qtbot, arun):
    dialog = QDialog()
    qtbot.addWidget(dialog)

    async def body():
        task = spawn(run_dialog(dialog))
        await wait_until(lambda: dialog in open_dialogs())
        await cancel_pending()
        return task

    task = arun(body())
    assert task.cancelled() and not dialog.isVisible() and open_dialogs() == []


class _Emitter(QObject):
    fired = Signal(bool)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="bools are immortal from Python 3.12 on")
def test_emit_keeps_the_refcount_of_true_stable(qapp):
    emitter = _Emitter()
    received: list[bool] = []
    emitter.fired.connect(received.append)
    before = sys.getrefcount(True)
    for _ in range(2000):
        emit(emitter.fired, False)
    assert len(received) == 2000
    assert abs(sys.getrefcount(True) - before) < 50  # without the fix it drops by ~2000


def test_resources_dir_in_a_checkout_and_when_frozen(monkeypatch, tmp_path):
    checkout = Path(asyncio_support.__file__).resolve().parents[1] / "resources"
    assert resources_dir() == checkout
    assert all(icon_path(name).is_file() for name in ICON_NAMES)
    assert not icon("keys").isNull() and not icon("keys", "#ffffff").isNull()
    assert icon("no-such-icon").isNull()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources_dir() == tmp_path / "resources"


def test_desktop_entry_names_the_entry_point_and_icon():
    entry = (resources_dir() / "prism-desktop.desktop").read_text().splitlines()
    assert entry[0] == "[Desktop Entry]"
    fields = dict(line.split("=", 1) for line in entry[1:] if "=" in line)
    assert fields["Exec"] == "prism-desktop" and fields["Icon"] == "prism-desktop"
    assert fields["Type"] == "Application" and fields["Categories"].endswith(";")


def test_op_drops_callbacks_of_a_widget_deleted_while_it_ran(qtbot, arun, unexpected):
    """A view closed while its op runs: success, progress and done must not touch the dead widget."""
    import shiboken6
    from PySide6.QtWidgets import QLabel

    release = threading.Event()
    label = QLabel("waiting")

    def work(progress):
        release.wait(5)
        progress("late")
        return "result"

    async def body():
        op = (Op(work).success(lambda text: label.setText(text)).progress(label.setText)
              .done(label.clear))
        task = op.run()
        await asyncio.sleep(0.05)
        shiboken6.delete(label)  # the C++ widget is gone; the Python wrapper remains
        release.set()
        return await task

    assert arun(body()) == "result"
    assert not shiboken6.isValid(label)
    assert unexpected == []  # without the guard: "Internal C++ object (QLabel) already deleted"


def test_op_still_calls_back_while_its_widget_lives(qtbot, arun):
    from PySide6.QtWidgets import QLabel

    label = QLabel("waiting")
    qtbot.addWidget(label)

    async def body():
        await Op(lambda: "done").success(lambda text: label.setText(text)).run()

    arun(body())
    assert label.text() == "done"
