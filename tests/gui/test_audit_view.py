"""The Audit log view: paging on scroll, text and action filters, the chain banner."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.asyncio_support import wait_until
from app.models.audit_model import COL_ACTION, COL_SUBJECT
from app.views.audit_view import AuditView


def _fill(session, n: int) -> None:
    for i in range(n):
        session.audit.append("test.event", f"item-{i}", {"i": i})


@pytest.fixture
def view(qtbot, session):
    view = AuditView(session)
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    return view


def test_pages_load_as_the_table_scrolls(view, session, arun):
    _fill(session, 450)
    view.model.page_size = 100
    view.model.refresh()
    assert view.model.rowCount() == 100 and view.model.total == 451
    assert view.count_label.text() == "Showing 100 of 451 events — scroll for more"

    async def body():
        bar = view.table.verticalScrollBar()
        for loaded in (200, 300):
            await wait_until(lambda: bar.maximum() > bar.value())  # geometry caught up
            bar.setValue(bar.maximum())
            await wait_until(lambda loaded=loaded: view.model.rowCount() >= loaded)

    arun(body())
    assert view.model.rowCount() < 451  # only what was scrolled to, never everything at once
    assert view.count_label.text().startswith(f"Showing {view.model.rowCount()} of 451")


def test_text_and_action_filters(view, session, arun):
    _fill(session, 30)
    session.audit.append("key.generate", "alice", {"key_type": "ed25519"})

    async def body():
        view.filter_edit.setText("ITEM-2")  # case-insensitive
        await wait_until(lambda: view.model.total == 11)
        subjects = {view.model.index(r, COL_SUBJECT).data() for r in range(view.model.rowCount())}
        assert subjects == {"item-2"} | {f"item-{i}" for i in range(20, 30)}
        view.filter_edit.clear()
        view.action_filter.setCurrentIndex(view.action_filter.findData("key."))
        await wait_until(lambda: view.model.total == 1)
        assert view.model.index(0, COL_ACTION).data() == "key.generate"
        view.filter_edit.setText("nothing matches this")
        await wait_until(lambda: view.model.total == 0)

    arun(body())
    assert view.count_label.text() == "Showing 0 of 0 events"


def test_new_events_appear_after_a_core_change(view, unlocked, arun):
    async def body():
        unlocked.generate_key("alice", "ed25519")
        await wait_until(lambda: view.model.rowCount() >= 3)

    arun(body())
    assert view.model.index(0, COL_ACTION).data() == "key.generate"


def test_chain_banner_green_then_red_after_tampering(view, session, arun):
    _fill(session, 5)

    async def body():
        view.verify_chain()
        await wait_until(lambda: view.banner.state != "pending")
        assert view.banner.state == "ok"
        assert view.banner.label.text() == "Audit chain intact (6 events)"
        with session.workspace.store.engine.begin() as connection:
            connection.execute(text("UPDATE audit_events SET subject = 'forged' WHERE seq = 3"))
        view.verify_chain()
        await wait_until(lambda: view.banner.state != "pending")

    arun(body())
    assert view.banner.state == "bad"
    assert view.banner.label.text().startswith("Audit chain broken: ")
    assert "3" in view.banner.label.text()
    assert session.last_chain_report.first_bad_seq == 3
