"""The unlock dialog: create a keystore, wrong then right passphrase, keyring mode."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QDialog, QDialogButtonBox

from app.asyncio_support import open_dialogs, run_dialog, spawn, wait_until
from app.views.unlock_dialog import UnlockDialog
from tests.gui.helpers import PASSPHRASE


def _ok(dialog: UnlockDialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_create_keystore_checks_the_passphrase_twice(qtbot, session, arun):
    assert session.keystore_state() == "missing"
    dialog = UnlockDialog(session)
    qtbot.addWidget(dialog)
    assert dialog.creating and _ok(dialog).text() == "Create"

    async def body():
        result = spawn(run_dialog(dialog))
        await wait_until(lambda: dialog in open_dialogs())
        dialog.passphrase.setText(PASSPHRASE)
        dialog.repeat.setText(PASSPHRASE + "x")
        _ok(dialog).click()
        assert dialog.error.text() == "The two passphrases differ; type them again."
        dialog.repeat.setText("short")
        dialog.passphrase.setText("short")
        _ok(dialog).click()
        assert "at least 8" in dialog.error.text()
        assert session.is_locked and session.keystore_state() == "missing"
        dialog.passphrase.setText(PASSPHRASE)
        dialog.repeat.setText(PASSPHRASE)
        _ok(dialog).click()
        assert dialog.busy.isVisibleTo(dialog)  # Argon2id runs in a worker, the bar spins
        assert await result == QDialog.DialogCode.Accepted

    arun(body())
    assert not session.is_locked
    assert session.keystore_state() == "passphrase"
    assert [e.action for e in session.audit.events()][-1] == "keystore.create"


def test_wrong_then_right_passphrase(qtbot, unlocked, arun):
    session = unlocked
    session.lock()
    assert session.is_locked
    dialog = UnlockDialog(session)
    qtbot.addWidget(dialog)
    assert not dialog.creating and _ok(dialog).text() == "Unlock"
    locked_signals: list[bool] = []
    session.lockedChanged.connect(locked_signals.append)

    async def body():
        result = spawn(run_dialog(dialog))
        await wait_until(lambda: dialog in open_dialogs())
        dialog.passphrase.setText("not the passphrase")
        _ok(dialog).click()
        await wait_until(lambda: dialog.op is None)
        assert dialog.error.isVisibleTo(dialog)
        assert dialog.error.text() == "Wrong passphrase. Try again."
        assert dialog.passphrase.text() == ""  # cleared for the next try
        assert not result.done() and dialog.isVisible()  # still open, nothing crashed
        assert session.is_locked
        dialog.passphrase.setText(PASSPHRASE)
        _ok(dialog).click()
        assert await result == QDialog.DialogCode.Accepted

    arun(body())
    assert not session.is_locked
    assert locked_signals == [False]


def test_empty_passphrase_is_refused_in_place(qtbot, unlocked, arun):
    unlocked.lock()
    dialog = UnlockDialog(unlocked)
    qtbot.addWidget(dialog)

    async def body():
        result = spawn(run_dialog(dialog))
        await wait_until(lambda: dialog in open_dialogs())
        _ok(dialog).click()
        assert dialog.error.text() == "Enter the passphrase."
        assert dialog.op is None  # no Argon2id for an empty field
        dialog.reject()
        assert await result == QDialog.DialogCode.Rejected

    arun(body())
    assert unlocked.is_locked


def test_keyring_mode_when_the_keyring_is_usable(qtbot, session, arun, memory_keyring):
    dialog = UnlockDialog(session)
    qtbot.addWidget(dialog)
    assert dialog.use_keyring.isEnabled() == session.keyring_usable()
    if not dialog.use_keyring.isEnabled():
        return

    async def body():
        result = spawn(run_dialog(dialog))
        await wait_until(lambda: dialog in open_dialogs())
        dialog.use_keyring.setChecked(True)
        assert not dialog.passphrase.isEnabled()
        _ok(dialog).click()
        assert await result == QDialog.DialogCode.Accepted

    arun(body())
    assert session.keystore_state() == "keyring"
    assert len(memory_keyring.secrets) == 1  # the master key went to the (in-memory) keyring
    session.lock()
    session.unlock(None)  # no passphrase needed any more
    assert not session.is_locked


def test_keyring_option_disabled_without_a_usable_keyring(qtbot, session, monkeypatch):
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    assert not session.keyring_usable()
    dialog = UnlockDialog(session)
    qtbot.addWidget(dialog)
    assert not dialog.use_keyring.isEnabled()
    assert "No secure system keyring" in dialog.use_keyring.toolTip()


def test_cancel_is_ignored_while_argon2_runs(qtbot, unlocked, arun, monkeypatch):
    unlocked.lock()
    original = unlocked.unlock

    def slow_unlock(passphrase):
        import time

        time.sleep(0.4)
        original(passphrase)

    monkeypatch.setattr(unlocked, "unlock", slow_unlock)
    dialog = UnlockDialog(unlocked)
    qtbot.addWidget(dialog)

    async def body():
        result = spawn(run_dialog(dialog))
        await wait_until(lambda: dialog in open_dialogs())
        dialog.passphrase.setText(PASSPHRASE)
        _ok(dialog).click()
        await asyncio.sleep(0.05)
        dialog.reject()  # Escape mid-unlock: the dialog waits for the outcome
        assert not result.done()
        assert await result == QDialog.DialogCode.Accepted

    arun(body())
    assert not unlocked.is_locked
