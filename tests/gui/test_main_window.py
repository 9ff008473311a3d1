"""The main window: navigation, status bar, lock toggle, and the workspace switcher."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from app.asyncio_support import wait_until
from app.signals import emit
from app.views.main_window import VIEW_KEYS, MainWindow
from app.views.unlock_dialog import UnlockDialog
from tests.gui.helpers import PASSPHRASE, answer_message_box, answer_text, dialog_gone, next_dialog


@pytest.fixture
def window(unexpected, qtbot, session):
    window = MainWindow(session)
    qtbot.addWidget(window)  # closed by qtbot, which restores the error handler in closeEvent
    window.show()
    return window


def _combo_names(window: MainWindow) -> list[str]:
    combo = window.workspace_bar.combo
    return [combo.itemText(i) for i in range(combo.count())]


def test_sidebar_switches_views(window):
    assert [window.sidebar.item(i).text() for i in range(3)] == ["Keys", "Certificates", "Audit log"]
    assert all(not window.sidebar.item(i).icon().isNull() for i in range(3))
    window.show_view("audit")
    assert window.stack.currentWidget() is window.audit_view and window.current_view == "audit"
    window.sidebar.setCurrentRow(1)
    assert window.stack.currentWidget() is window.certificates_view


def test_status_bar_and_lock_toggle(window, session, arun):
    assert window.workspace_label.text() == "Workspace: default"
    assert window.lock_label.text() == "Keystore: none yet"
    assert window.lock_action.text() == "Create keystore…"

    async def body():
        window.lock_action.trigger()
        dialog = await next_dialog(UnlockDialog)
        dialog.passphrase.setText(PASSPHRASE)
        dialog.repeat.setText(PASSPHRASE)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        await dialog_gone(dialog)
        assert window.lock_label.text() == "Keystore: unlocked"
        window.lock_action.trigger()  # lock again
        assert session.is_locked and window.lock_label.text() == "Keystore: locked"
        window.audit_view.verify_chain()
        await wait_until(lambda: session.last_chain_report is not None
                         and window.chain_label.text().startswith("Audit chain intact"))

    arun(body())
    assert window.lock_action.text() == "Unlock…"


def test_create_rename_delete_workspaces_through_the_switcher(window, session, arun):
    async def body():
        window.workspace_bar.create_action.trigger()
        await answer_text("project-x")
        assert session.workspace_name == "project-x"
        assert _combo_names(window) == ["default", "project-x"]
        assert window.workspace_bar.combo.currentText() == "project-x"

        window.workspace_bar.create_action.trigger()
        await answer_text("bad name!")  # refused by core, shown in place
        assert window.message_bar.kind == "error" and "bad name!" in window.message_bar.text()
        assert _combo_names(window) == ["default", "project-x"]

        window.workspace_bar.rename_action.trigger()
        await answer_text("project-y")
        assert session.workspace_name == "project-y"
        assert _combo_names(window) == ["default", "project-y"]
        assert window.workspace_label.text() == "Workspace: project-y"

        window.workspace_bar.delete_action.trigger()
        assert "“project-y”" in await answer_message_box(None)  # cancelled: nothing happens
        assert _combo_names(window) == ["default", "project-y"]
        window.workspace_bar.delete_action.trigger()
        await answer_message_box("Delete “project-y”")
        assert _combo_names(window) == ["default"]
        assert session.workspace_name == "default"

    arun(body())
    assert [e.action for e in session.manager.home_audit.events()] == ["workspace.delete"]
    assert window.message_bar.text() == "Deleted workspace “project-y”."


def test_switching_workspace_locks_and_reloads(window, session, arun):
    session.create_keystore(PASSPHRASE)
    session.generate_key("alice", "ed25519")
    session.manager.create("other").close()

    async def body():
        window.workspace_bar.reload()
        await wait_until(lambda: window.keys_view.model.rowCount() == 1)
        combo = window.workspace_bar.combo
        emit(combo.activated, combo.findText("other"))
        assert session.workspace_name == "other" and session.is_locked
        assert window.keys_view.model.rowCount() == 0
        assert window.keys_view.stack.currentWidget() is window.keys_view.locked_panel
        await wait_until(lambda: window.audit_view.model.total == 1)

    arun(body())


def test_keyring_keystore_unlocks_without_asking(window, session, arun):
    if not session.keyring_usable():
        pytest.skip("the test keyring backend is not considered usable")
    session.create_keystore(use_keyring=True)
    session.lock()

    async def body():
        window.auto_unlock()
        await wait_until(lambda: not session.is_locked)

    arun(body())
    assert window.lock_label.text() == "Keystore: unlocked"


def test_views_are_built_when_first_shown(window):
    assert set(window.views) == {"keys"}  # only the view selected at start
    assert window.stack.count() == len(VIEW_KEYS)
    assert window.stack.currentWidget() is window.views["keys"]
    window.sidebar.setCurrentRow(VIEW_KEYS.index("sandbox"))
    assert set(window.views) == {"keys", "sandbox"}
    assert type(window.views["sandbox"]).__name__ == "SandboxView"
    assert window.stack.currentWidget() is window.views["sandbox"] is window.sandbox_view
    assert window.stack.indexOf(window.sandbox_view) == VIEW_KEYS.index("sandbox")
    window.show_view("keys")  # shown again: the same view, not a new one
    assert window.stack.currentWidget() is window.views["keys"] and len(window.views) == 2


def test_view_properties_build_on_access_in_sidebar_order(window):
    collateral = window.collateral_view  # asked for, not shown
    assert "collateral" in window.views and "audit" not in window.views
    assert window.current_view == "keys" and window.stack.currentWidget() is window.keys_view
    assert window.collateral_view is collateral
    window.build_views()
    assert set(window.views) == set(VIEW_KEYS) and window.stack.count() == len(VIEW_KEYS)
    assert [window.stack.indexOf(window.views[key]) for key in VIEW_KEYS] == list(range(len(VIEW_KEYS)))
    assert [type(window.views[key]).__name__ for key in VIEW_KEYS] == [
        "KeysView", "CertificatesView", "AuditView", "InspectorView", "CollateralView", "SandboxView"]


def test_the_view_chosen_at_start_is_the_only_one_built(unexpected, qtbot, session):
    window = MainWindow(session, view="inspector")
    qtbot.addWidget(window)
    assert set(window.views) == {"inspector"} and window.current_view == "inspector"
    assert window.stack.currentWidget() is window.inspector_view
    assert window.sidebar.currentItem().text() == "Attestation"


def test_a_lazily_built_locked_panel_still_asks_to_unlock(window, arun):
    async def body():
        window.certificates_view.locked_panel.button.click()
        dialog = await next_dialog(UnlockDialog)
        assert window.unlock_dialog is dialog
        dialog.reject()
        await dialog_gone(dialog)

    arun(body())
    assert window.unlock_dialog is None


def test_status_bar_checks_the_chain_before_the_audit_view_exists(window, session, arun):
    assert window.chain_label.text() == "Audit chain: not checked yet"
    session.create_keystore(PASSPHRASE)  # an audited change

    async def body():
        await wait_until(lambda: window.chain_label.text().startswith("Audit chain intact"))

    arun(body())
    assert "audit" not in window.views
    banner = window.audit_view.banner  # built now: it checks the chain itself from here on
    arun(wait_until(lambda: banner.state == "ok"))
    assert banner.label.text() == window.chain_label.text() == "Audit chain intact (2 events)"
