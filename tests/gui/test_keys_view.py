"""The Keys view against a real keystore: generate, import (file and drop), export, sign, delete."""

from __future__ import annotations

import base64
import stat
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from app.asyncio_support import spawn, wait_until
from app.views.key_dialogs import ExportPublicDialog, GenerateKeyDialog, PrivateExportChoice
from app.views.keys_view import KeysView
from app.views.prompts import PasswordDialog
from tests.gui.helpers import answer_directory_dialog, answer_file_dialog, answer_message_box, dialog_gone, next_dialog


@pytest.fixture
def view(qtbot, unlocked):
    view = KeysView(unlocked)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    return view


def _pem(key, password: bytes | None = None) -> bytes:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _names(view: KeysView) -> list[str]:
    return [view.model.entry(row).name for row in range(view.model.rowCount())]


async def _generate_through_dialog(view: KeysView, name: str, key_type: str) -> GenerateKeyDialog:
    view.generate_action.trigger()
    dialog = await next_dialog(GenerateKeyDialog)
    dialog.name.setText(name)
    dialog.key_type.setCurrentIndex(dialog.key_type.findData(key_type))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    return dialog


def test_locked_session_shows_the_unlock_panel(qtbot, session):
    view = KeysView(session)
    qtbot.addWidget(view)
    assert view.stack.currentWidget() is view.locked_panel
    assert view.locked_panel.button.text() == "Create keystore…"
    session.create_keystore("correct horse battery staple")
    assert view.stack.currentIndex() == 1
    session.lock()
    assert view.stack.currentWidget() is view.locked_panel
    assert view.locked_panel.button.text() == "Unlock…"


def test_generate_a_key_through_the_dialog(view, arun):
    async def body():
        dialog = await _generate_through_dialog(view, "alice", "ed25519")
        await dialog_gone(dialog)
        await wait_until(lambda: _names(view) == ["alice"])

    arun(body())
    assert view.bar.kind == "success" and "alice" in view.bar.text()
    view.select("alice")
    assert view.detail_labels["fingerprint"].text() == view.session.keystore.get("alice").fingerprint
    assert view.detail_labels["type"].text() == "Ed25519"


def test_duplicate_name_is_reported_in_the_dialog(view, arun):
    view.session.generate_key("alice", "ed25519")

    async def body():
        dialog = await _generate_through_dialog(view, "alice", "ecdsa-p256")
        await wait_until(lambda: dialog.op is None and dialog.error.isVisibleTo(dialog))
        assert "alice" in dialog.error.text() and "already" in dialog.error.text()
        assert dialog.isVisible()
        dialog.reject()
        await dialog_gone(dialog)

    arun(body())
    assert [e.name for e in view.session.list_keys()] == ["alice"]


def test_gui_stays_responsive_while_a_slow_generation_runs(view, arun, monkeypatch):
    keystore = view.session.keystore
    real_generate = keystore.generate

    def slow_generate(*args, **kwargs):
        time.sleep(1.0)  # stands in for a slow RSA-4096 generation
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(keystore, "generate", slow_generate)
    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))

    async def body():
        dialog = await _generate_through_dialog(view, "slow", "ecdsa-p384")
        timer.start()
        started = time.monotonic()
        assert dialog.busy.isVisibleTo(dialog) and "ECDSA P-384" in dialog.busy.label.text()
        await dialog_gone(dialog)
        elapsed = time.monotonic() - started
        timer.stop()
        await wait_until(lambda: _names(view) == ["slow"])
        return elapsed

    elapsed = arun(body())
    assert elapsed >= 0.9
    # a GUI thread blocked by the generation would tick at most once in that second, with a
    # gap of a whole second; a free one ticks every 20 ms (bounds leave room for a loaded CI box)
    assert len(ticks) >= 10, f"only {len(ticks)} timer ticks in {elapsed:.2f} s"
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 0.6, f"the GUI thread stalled for {max(gaps):.2f} s"


def test_import_by_file_path_names_the_key_after_the_file(view, arun, tmp_path):
    path = tmp_path / "partner.pem"
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(_pem(key))
    async def body():
        imported = await view.import_files([path])
        await wait_until(lambda: view.selected_entry() is not None)
        return imported

    imported = arun(body())
    assert [e.name for e in imported] == ["partner"]
    assert _names(view) == ["partner"]
    assert view.selected_entry().name == "partner"
    assert "Imported “partner”" in view.bar.text()


def test_import_through_the_file_dialog(view, arun, tmp_path):
    path = tmp_path / "from-dialog.pem"
    path.write_bytes(_pem(ec.generate_private_key(ec.SECP384R1())))

    async def body():
        view.import_action.trigger()
        await answer_file_dialog(path)
        await wait_until(lambda: _names(view) == ["from-dialog"])

    arun(body())
    assert view.session.keystore.get("from-dialog").key_type.value == "ecdsa-p384"


def test_import_of_a_bad_file_shows_the_core_error(view, arun, tmp_path):
    path = tmp_path / "notes.pem"
    path.write_bytes(b"-----BEGIN NOTHING-----\nhello\n-----END NOTHING-----\n")
    assert arun(view.import_files([path])) == []
    assert view.bar.kind == "error" and view.bar.text().startswith("notes.pem: ")
    assert _names(view) == []


def test_import_encrypted_pkcs8_asks_for_its_password(view, arun, tmp_path):
    path = tmp_path / "secret.key"
    path.write_bytes(_pem(ec.generate_private_key(ec.SECP256R1()), b"s3cret"))

    async def body():
        task = spawn(view.import_files([path]))
        prompt = await next_dialog(PasswordDialog)
        prompt.password.setText("wrong")
        prompt.accept()
        await dialog_gone(prompt)
        again = await next_dialog(PasswordDialog)
        assert again.error.text() == "Wrong password; try again."
        again.password.setText("s3cret")
        again.accept()
        return await task

    imported = arun(body())
    assert [e.name for e in imported] == ["secret"]
    assert view.session.keystore.get("secret").key_type.value == "ecdsa-p256"


def test_import_encrypted_cancelled(view, arun, tmp_path):
    path = tmp_path / "secret.pem"
    path.write_bytes(_pem(ec.generate_private_key(ec.SECP384R1()), b"pw"))

    async def body():
        task = spawn(view.import_files([path]))
        (await next_dialog(PasswordDialog)).reject()
        return await task

    assert arun(body()) == []
    assert "cancelled" in view.bar.text() and _names(view) == []


def _drop(view: KeysView, paths: list[Path]) -> tuple[bool, bool]:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    viewport = view.table.viewport()
    point = viewport.rect().center()
    enter = QDragEnterEvent(point.toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    drop = QDropEvent(point.toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, drop)
    return enter.isAccepted(), drop.isAccepted()


def test_import_by_dropping_files_on_the_view(view, arun, tmp_path):
    first, second = tmp_path / "one.pem", tmp_path / "two.pem"
    first.write_bytes(_pem(ed25519.Ed25519PrivateKey.generate()))
    second.write_bytes(_pem(ec.generate_private_key(ec.SECP256R1())))

    async def body():
        accepted = _drop(view, [first, second])
        await wait_until(lambda: _names(view) == ["one", "two"])
        return accepted

    assert arun(body()) == (True, True)
    actions = [e.action for e in view.session.audit.events()]
    assert actions.count("key.import") == 2


def test_drag_without_files_is_refused(view):
    mime = QMimeData()
    mime.setText("just text")
    enter = QDragEnterEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.table.viewport(), enter)
    assert not enter.isAccepted()


def test_delete_with_confirmation(view, arun):
    view.session.generate_key("keep", "ed25519")
    view.session.generate_key("drop", "ed25519")

    async def body():
        view.refresh()
        await wait_until(lambda: len(_names(view)) == 2)
        view.select("drop")
        view.delete_action.trigger()
        assert await answer_message_box(None) == "Delete the key “drop”?"  # cancel first
        assert _names(view) == ["drop", "keep"]
        view.delete_action.trigger()
        await answer_message_box("Delete")
        await wait_until(lambda: _names(view) == ["keep"])

    arun(body())
    assert [e.name for e in view.session.list_keys()] == ["keep"]


def test_export_public_pem_and_base64_der(view, arun, tmp_path):
    entry = view.session.generate_key("alice", "ed25519")

    async def body():
        view.refresh()
        await wait_until(lambda: _names(view) == ["alice"])
        view.select("alice")
        view.export_public_action.trigger()
        dialog = await next_dialog(ExportPublicDialog)
        await wait_until(lambda: "BEGIN PUBLIC KEY" in dialog.text.toPlainText())
        pem = dialog.text.toPlainText()
        dialog.save_button.click()
        await answer_file_dialog(tmp_path / "alice.pub.pem")
        await wait_until(lambda: (tmp_path / "alice.pub.pem").exists())
        dialog.fmt.setCurrentIndex(dialog.fmt.findData("der-b64"))
        await wait_until(lambda: "BEGIN" not in dialog.text.toPlainText() and dialog.text.toPlainText())
        dialog.copy_button.click()
        dialog.reject()
        return pem

    pem = arun(body())
    assert (tmp_path / "alice.pub.pem").read_text().strip() == pem.strip()
    der = base64.b64decode(QGuiApplication.clipboard().text())
    assert der == entry.public_der


def test_copy_role_signature_verifies(view, arun):
    from core.keys.signatures import verify_role_signature

    entry = view.session.generate_key("alice", "ecdsa-p256")

    async def body():
        view.refresh()
        await wait_until(lambda: _names(view) == ["alice"])
        view.select("alice")
        view.copy_role_signature("data-provider")
        await wait_until(lambda: "data-provider signature" in view.bar.text())

    arun(body())
    signature = base64.b64decode(QGuiApplication.clipboard().text())
    assert verify_role_signature(entry.public_der, "data-provider", signature)
    assert not verify_role_signature(entry.public_der, "consumer", signature)


def test_export_private_encrypted_pkcs8(view, arun, tmp_path):
    entry = view.session.generate_key("alice", "ecdsa-p256")
    target = tmp_path / "alice.key.pem"

    async def body():
        view.refresh()
        await wait_until(lambda: _names(view) == ["alice"])
        view.select("alice")
        view.export_private_action.trigger()
        choice = await next_dialog(PrivateExportChoice)
        choice.accept()
        prompt = await next_dialog(PasswordDialog)
        prompt.password.setText("export-pw")
        prompt.repeat.setText("export-pw")
        prompt._check()
        await answer_file_dialog(target)
        await wait_until(lambda: "Saved the encrypted private key" in view.bar.text())

    arun(body())
    data = target.read_bytes()
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(data, b"export-pw")
    from core.keys.formats import fingerprint

    assert fingerprint(key) == entry.fingerprint


def test_export_private_cocos_layout_needs_explicit_confirmation(view, arun, tmp_path):
    view.session.generate_key("alice", "ed25519")
    folder = tmp_path / "cocos"
    folder.mkdir()

    async def body():
        view.refresh()
        await wait_until(lambda: _names(view) == ["alice"])
        view.select("alice")
        for answer in (None, "Write unencrypted files"):
            view.export_private_action.trigger()
            choice = await next_dialog(PrivateExportChoice)
            choice.cocos.setChecked(True)
            choice.accept()
            text = await answer_message_box(answer)
            assert "UNENCRYPTED" in text
        await answer_directory_dialog(folder)
        await wait_until(lambda: "Wrote private.pem" in view.bar.text())

    arun(body())
    assert sorted(p.name for p in folder.iterdir()) == ["private.pem", "public.pem"]
    assert stat.S_IMODE((folder / "private.pem").stat().st_mode) == 0o600
    events = [e for e in view.session.audit.events() if e.action == "key.export-private"]
    assert len(events) == 1  # the cancelled attempt wrote and logged nothing
