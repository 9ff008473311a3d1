"""The Collateral view: listing with age and status, import (drop), export, remove, fetch, screenshot.

All collateral is synthetic (tests/unit/attestation/collateral/helpers.py); fetching goes through an
httpx.MockTransport injected via ``collateral_work.make_http_client``, never the network.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication

from app.asyncio_support import pending_tasks, spawn, wait_until
from app.models.collateral_model import (
    COL_AGE, COL_KIND, COL_SOURCE, COL_STATUS, COL_UNTIL, EXPIRED, EXPIRES_SOON, FRESH, CollateralModel, ItemRole,
    span_text, status_of,
)
from app.views import collateral_work
from app.views.collateral_view import CollateralView
from core.attestation.collateral import CollateralCache, CollateralItem, export_pack, import_pack, read_pack
from core.attestation.collateral import kinds as K
from core.attestation.collateral.fetch import amd_cert_chain_url, amd_crl_url, vcek_url
from core.attestation.snp.tcb import TcbVersion
from core.errors import PrismError
from tests.gui.entrypoint_support import run_app
from tests.gui.helpers import answer_file_dialog, answer_message_box
from tests.gui.test_screenshots import _distinct_colours, shot_dir, x_display  # noqa: F401 - fixtures
from tests.unit.attestation.collateral.helpers import T0, cert, crl, der, pem, tcb_info_json
from tests.unit.attestation.snp.synth import CHIP_ID, build_report

AT = T0 + timedelta(days=10)               # 2025-03-11: the fixed "now" of these tests
REPORTED = TcbVersion.from_components(bootloader=3, tee=0, snp=8, microcode=115)
KDS = "https://kdsintf.amd.com/vcek/v1/Milan"


def synthetic_items(start: datetime = T0, fetched: datetime | None = None) -> list[CollateralItem]:
    """Four items at AT: a fresh VCEK, a fresh chain, a CRL due in 4 days, an expired TCB Info."""
    fetched = fetched or start + timedelta(days=7)
    stamp = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    overdue = (start + timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        CollateralItem.create(K.AMD_VCEK, "Milan/abcd/blSPL=3", der(cert("vcek-long", 400, start)),
                              source_url=f"{KDS}/abcd", fetched_at=fetched),
        CollateralItem.create(K.AMD_CERT_CHAIN, "vcek/Milan", pem(cert("ask", 30, start), cert("ark", 30, start)),
                              source_url=f"{KDS}/cert_chain", fetched_at=fetched),
        CollateralItem.create(K.AMD_CRL, "vcek/Milan", crl("ARK-Milan", start, 14),
                              source_url=f"{KDS}/crl", fetched_at=fetched),
        CollateralItem.create(K.INTEL_TCB_INFO, "b0c06f000000", tcb_info_json(issue=stamp, next_update=overdue),
                              source_url="file:///media/usb/tcbInfo.json", fetched_at=fetched),
    ]


def _texts(model: CollateralModel, column: int) -> dict[str, str]:
    return {model.item(row).kind: model.index(row, column).data() for row in range(model.rowCount())}


def _view(session, qtbot) -> CollateralView:  # type: ignore[no-untyped-def]
    view = CollateralView(session, clock=lambda: AT)
    qtbot.addWidget(view)
    view.resize(1000, 600)
    return view


def _cache(session) -> CollateralCache:  # type: ignore[no-untyped-def]
    return CollateralCache.for_workspace(session.workspace.cache_dir)


# --- the model, without widgets ---------------------------------------------------------------

def test_model_shows_kind_age_validity_and_status_at_a_fixed_time(qtmodeltester) -> None:
    model = CollateralModel()
    model.set_rows(synthetic_items(), AT)
    qtmodeltester.check(model)
    assert _texts(model, COL_KIND)[K.AMD_VCEK] == "AMD VCEK certificate"
    assert set(_texts(model, COL_AGE).values()) == {"3 days"}
    assert _texts(model, COL_STATUS) == {K.AMD_VCEK: FRESH, K.AMD_CERT_CHAIN: FRESH, K.AMD_CRL: EXPIRES_SOON,
                                         K.INTEL_TCB_INFO: EXPIRED}
    until = _texts(model, COL_UNTIL)
    assert until[K.AMD_CRL] == "2025-03-15 (in 4 days)"
    assert until[K.INTEL_TCB_INFO] == "2025-03-05 (6 days ago)"
    tip = model.index(model.row_of(K.AMD_CRL, "vcek/Milan"), COL_UNTIL).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == "The issuer's next update is due 2025-03-15 00:00 UTC"
    assert until[K.AMD_CERT_CHAIN] == "2025-03-31 (in 20 days)"
    sources = _texts(model, COL_SOURCE)
    assert sources[K.AMD_VCEK] == "AMD KDS" and sources[K.INTEL_TCB_INFO] == "file tcbInfo.json"
    inks = {model.item(r).kind: model.index(r, COL_STATUS).data(Qt.ItemDataRole.ForegroundRole)
            for r in range(4)}
    assert inks[K.AMD_VCEK] == QColor("#1a7f4b") and inks[K.AMD_CRL] == QColor("#8a6100")
    assert inks[K.INTEL_TCB_INFO] == QColor("#b3261e")
    assert model.counts() == {FRESH: 2, EXPIRES_SOON: 1, EXPIRED: 1}


def test_time_moves_on_only_the_time_cells_change(qtmodeltester) -> None:
    model = CollateralModel()
    model.set_rows(synthetic_items(), AT)
    changed: list[int] = []
    resets: list[int] = []
    model.dataChanged.connect(lambda first, _last, *_roles: changed.append(first.column()))
    model.modelReset.connect(lambda: resets.append(1))
    model.set_time(AT + timedelta(days=5))           # the CRL's next update (Mar 15) has passed
    assert resets == [] and sorted(changed) == sorted([COL_AGE, COL_UNTIL, COL_STATUS])
    assert _texts(model, COL_STATUS)[K.AMD_CRL] == EXPIRED
    assert _texts(model, COL_AGE)[K.AMD_VCEK] == "8 days"
    qtmodeltester.check(model)


def test_status_and_duration_boundaries() -> None:
    item = synthetic_items()[2]                      # CRL, next update 2025-03-15 00:00
    assert item.not_after is not None
    assert status_of(item, item.not_after - timedelta(days=7)) == FRESH
    assert status_of(item, item.not_after - timedelta(days=7) + timedelta(seconds=1)) == EXPIRES_SOON
    assert status_of(item, item.not_after) == EXPIRES_SOON
    assert status_of(item, item.not_after + timedelta(seconds=1)) == EXPIRED
    assert [span_text(timedelta(seconds=s)) for s in (5, 60, 7200, 86400, 3 * 86400)] == [
        "just now", "1 minute", "2 hours", "1 day", "3 days"]


# --- the view ----------------------------------------------------------------------------------

def test_lists_items_imported_from_a_pack_with_details(session, qtbot, arun, tmp_path) -> None:
    pack = export_pack(synthetic_items(), tmp_path / "pack.zip")
    import_pack(pack, _cache(session))
    view = _view(session, qtbot)

    async def body() -> None:
        await wait_until(lambda: view.model.rowCount() == 4)

    arun(body())
    assert "4 items" in view.summary.text() and "1 expires within 7 days" in view.summary.text()
    assert "1 expired" in view.summary.text()
    assert view.selected_items() == [] and view.export_action.text() == "Export all…"
    assert view.details.labels["summary"].text().startswith("Select an item")
    view.table.selectRow(0)
    [selected] = view.selected_items()
    assert view.details.labels["summary"].text() == selected.describe(AT)
    crl_row = view.proxy.mapFromSource(view.model.index(view.model.row_of(K.AMD_CRL, "vcek/Milan"), 0)).row()
    view.table.selectRow(crl_row)
    assert view.details.labels["summary"].text().startswith("AMD CRL [vcek/Milan]")
    assert view.details.labels["fetched"].text() == "2025-03-08 00:00:00 UTC (3 days ago)"
    assert view.export_action.text() == "Export selected…" and view.remove_action.isEnabled()
    view.table.sortByColumn(COL_UNTIL, Qt.SortOrder.AscendingOrder)   # by date, not by text
    order = [view.proxy.index(row, COL_KIND).data(ItemRole).kind for row in range(4)]
    assert order == [K.INTEL_TCB_INFO, K.AMD_CRL, K.AMD_CERT_CHAIN, K.AMD_VCEK]


def _drop(view: CollateralView, paths: list[Path]) -> tuple[bool, bool]:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    viewport = view.table.viewport()
    point = viewport.rect().center().toPointF()
    enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    drop = QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, drop)
    return enter.isAccepted(), drop.isAccepted()


def test_import_by_dropping_a_pack_and_a_folder(session, qtbot, arun, tmp_path) -> None:
    items = synthetic_items()
    pack = export_pack(items[:2], tmp_path / "pack.zip")
    folder = tmp_path / "loose"
    folder.mkdir()
    (folder / "crl.der").write_bytes(crl("ARK-Milan", T0, 14))
    (folder / "notes.txt").write_text("not collateral")
    view = _view(session, qtbot)

    async def body() -> None:
        assert _drop(view, [pack, folder]) == (True, True)
        await wait_until(lambda: view.model.rowCount() == 3)
        await wait_until(lambda: view.busy.isHidden())

    arun(body())
    assert view.bar.kind == "success" and view.bar.label.text() == "Imported 3 items from pack.zip, loose."
    cached = {(i.kind, i.key): i for i in _cache(session).items()}
    assert cached[(K.AMD_VCEK, items[0].key)].data == items[0].data
    assert cached[(K.AMD_CRL, "vcek/Milan")].source_url == (folder / "crl.der").resolve().as_uri()


def _held(monkeypatch, name: str) -> threading.Event:  # type: ignore[no-untyped-def]
    """Make ``collateral_work.<name>`` wait in its worker until the returned event is set."""
    release = threading.Event()
    real = getattr(collateral_work, name)

    def held(*args):  # type: ignore[no-untyped-def]
        assert release.wait(10), "the test never released the worker"
        return real(*args)

    monkeypatch.setattr(collateral_work, name, held)
    return release


def test_reading_a_cache_never_creates_its_folder(tmp_path) -> None:
    missing = tmp_path / "workspaces" / "gone" / "cache"
    assert collateral_work.cached_items(missing) == []
    assert CollateralCache.for_workspace(missing).get(K.AMD_CRL, "vcek/Milan") is None
    assert not CollateralCache.for_workspace(missing).remove(K.AMD_CRL, "vcek/Milan")
    assert not (tmp_path / "workspaces").exists()  # a deleted workspace must not come back
    CollateralCache.for_workspace(missing).put(synthetic_items()[2])  # writing creates it
    assert (missing / "collateral" / "index.json").is_file()


def test_a_load_still_running_when_the_workspace_is_renamed_does_not_recreate_it(
        session, qtbot, arun, monkeypatch) -> None:
    old = session.workspace.path
    release = _held(monkeypatch, "cached_items")
    view = _view(session, qtbot)   # its first load now waits on the old path
    session.rename_workspace("default", "renamed")
    assert not old.exists()

    async def body() -> None:
        release.set()
        await wait_until(lambda: not pending_tasks())

    arun(body())
    assert not old.exists(), "the stale load recreated the renamed workspace's folder"
    assert view.model.rowCount() == 0 and view.cache_dir == session.workspace.cache_dir


def test_an_import_finishing_after_a_workspace_switch_is_not_reported_in_the_new_one(
        session, qtbot, arun, monkeypatch, tmp_path) -> None:
    pack = export_pack(synthetic_items()[:1], tmp_path / "pack.zip")
    session.manager.create("other").close()
    view = _view(session, qtbot)
    first = session.workspace.cache_dir
    release = _held(monkeypatch, "import_paths")

    async def body() -> None:
        await wait_until(lambda: view.model.rowCount() == 0 and not view.busy.isVisible())
        task = view.import_paths([pack])
        session.open_workspace("other")
        release.set()
        await task
        await wait_until(lambda: view.busy.isHidden())

    arun(body())
    assert view.bar.isHidden() and "Imported" not in view.bar.label.text(), \
        "the import into the previous workspace was reported in this one"
    assert view.model.rowCount() == 0
    assert [i.kind for i in CollateralCache.for_workspace(first).items()] == [K.AMD_VCEK]


def test_dropping_something_that_is_not_collateral_is_refused_in_place(session, qtbot, arun, tmp_path) -> None:
    junk = tmp_path / "report.txt"
    junk.write_text("hello")
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    view = _view(session, qtbot)

    async def body() -> None:
        for path, expected in ((junk, "report.txt is neither a collateral pack nor collateral"),
                               (fake, "fake.zip is truncated")):
            _drop(view, [path])
            await wait_until(lambda: view.bar.kind == "error" and view.busy.isHidden())
            assert expected in view.bar.label.text()
            view.bar.hide()
            view.bar.kind = "info"

    arun(body())
    assert _cache(session).items() == [] and view.model.rowCount() == 0


def test_export_round_trip_of_selected_and_of_all(session, qtbot, arun, tmp_path) -> None:
    items = synthetic_items()
    for item in items:
        _cache(session).put(item)
    view = _view(session, qtbot)

    async def body() -> None:
        await wait_until(lambda: view.model.rowCount() == 4)
        view.table.selectAll()
        assert view.export_action.text() == "Export 4 selected…"
        view.table.clearSelection()
        view.table.selectRow(0)
        view.table.selectionModel().select(view.proxy.index(3, 0), view.table.selectionModel().SelectionFlag.Select
                                           | view.table.selectionModel().SelectionFlag.Rows)
        chosen = view.selected_items()
        assert view.export_action.text() == "Export 2 selected…"
        spawn(view.choose_and_export())
        await answer_file_dialog(tmp_path / "collateral-20250311.zip")   # the suggested name
        await wait_until(lambda: view.bar.kind == "success")
        assert [(i.kind, i.key, i.data) for i in read_pack(tmp_path / "collateral-20250311.zip")] == sorted(
            (i.kind, i.key, i.data) for i in chosen)
        view.table.clearSelection()
        assert view.export_action.text() == "Export all…"
        await view.export_to(tmp_path / "all.zip")

    arun(body())
    again = read_pack(tmp_path / "all.zip")
    assert sorted((i.kind, i.key, i.data, i.fetched_at) for i in again) == sorted(
        (i.kind, i.key, i.data, i.fetched_at) for i in items)
    assert view.bar.label.text() == f"Exported 4 items to {tmp_path / 'all.zip'}."


def test_remove_asks_first_and_cancel_keeps_the_item(session, qtbot, arun) -> None:
    for item in synthetic_items():
        _cache(session).put(item)
    view = _view(session, qtbot)

    async def body() -> None:
        await wait_until(lambda: view.model.rowCount() == 4)
        row = view.proxy.mapFromSource(view.model.index(view.model.row_of(K.AMD_CRL, "vcek/Milan"), 0)).row()
        view.table.selectRow(row)
        task = spawn(view.remove_selected())
        question = await answer_message_box(None)
        await task
        assert question == "Remove the AMD CRL “vcek/Milan” from this workspace's cache?"
        assert len(_cache(session).items()) == 4
        task = spawn(view.remove_selected())
        await answer_message_box("Remove")
        await task
        await wait_until(lambda: view.model.rowCount() == 3)

    arun(body())
    assert _cache(session).get(K.AMD_CRL, "vcek/Milan") is None
    assert view.bar.label.text() == "Removed 1 item from the cache."


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=512),
                      st.sampled_from([b"PK\x03\x04", b"-----BEGIN CERTIFICATE-----\n", b"{", b"0\x82"]).flatmap(
                          lambda head: st.binary(max_size=256).map(lambda tail: head + tail))))
def test_reading_dropped_files_raises_only_typed_errors(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "dropped.bin"
    path.write_bytes(data)
    try:
        items = collateral_work.read_import([path])
    except PrismError as error:
        assert error.code in ("collateral-import", "collateral-pack", "collateral-pack-truncated",
                              "collateral-pack-format", "collateral-pack-unsafe", "collateral-pack-oversize",
                              "collateral-pack-hash", "collateral-data", "bad-input")
    else:
        assert items  # anything accepted is real collateral


def test_renamed_or_vanished_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(collateral_work.CollateralImportError, match="does not exist") as info:
        collateral_work.read_import([tmp_path / "gone.zip"])
    assert info.value.code == "collateral-import"
    (tmp_path / "empty").mkdir()
    with pytest.raises(collateral_work.CollateralImportError, match="holds no collateral"):
        collateral_work.read_import([tmp_path / "empty"])


# --- fetching through a mock transport ----------------------------------------------------------

def _serve(monkeypatch, handler) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    async def recording(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        answer = handler(request)
        return await answer if inspect.isawaitable(answer) else answer

    monkeypatch.setattr(collateral_work, "make_http_client",
                        lambda: httpx.AsyncClient(transport=httpx.MockTransport(recording)))
    return seen


def _report(tmp_path: Path) -> Path:
    path = tmp_path / "report.bin"
    path.write_bytes(build_report(reported_tcb=REPORTED))
    return path


def _kds(request: httpx.Request) -> httpx.Response:
    routes = {vcek_url("Milan", CHIP_ID, REPORTED): der(cert("vcek")),
              amd_cert_chain_url("Milan"): pem(cert("ask"), cert("ark")),
              amd_crl_url("Milan"): crl("ARK-Milan", T0, 14)}
    body = routes.get(str(request.url))
    return httpx.Response(200, content=body) if body is not None else httpx.Response(404)


def test_fetch_for_evidence_fills_the_cache_with_a_busy_indicator(session, qtbot, arun, tmp_path,
                                                                  monkeypatch) -> None:
    seen = _serve(monkeypatch, _kds)
    report = _report(tmp_path)
    view = _view(session, qtbot)

    async def body() -> None:
        task = view.fetch_for(report)
        assert task is not None and not view.busy.isHidden() and not view.fetch_action.isEnabled()
        await task
        await wait_until(lambda: view.model.rowCount() == 3)
        assert view.bar.label.text() == "Fetched 3 items for report.bin."
        again = view.fetch_for(report)                 # everything is cached and fresh now
        assert again is not None
        await again

    arun(body())
    assert len(seen) == 3 and seen[0] == vcek_url("Milan", CHIP_ID, REPORTED)
    assert view.bar.label.text() == "All 3 items report.bin needs were already cached and fresh."
    assert view.busy.isHidden() and view.fetch_action.isEnabled()
    assert {i.kind for i in _cache(session).items()} == {K.AMD_VCEK, K.AMD_CERT_CHAIN, K.AMD_CRL}


def test_fetch_for_a_v2_report_uses_the_chosen_processor(session, qtbot, arun, tmp_path, monkeypatch) -> None:
    seen = _serve(monkeypatch, lambda request: httpx.Response(404))
    report = tmp_path / "v2.bin"
    report.write_bytes(build_report(version=2, reported_tcb=REPORTED))
    view = _view(session, qtbot)
    arun(view.fetch_for(report))
    assert seen == [] and "does not name its processor" in view.bar.label.text()
    view.product_box.setCurrentIndex(view.product_box.findData("Genoa"))
    arun(view.fetch_for(report))
    assert seen[0].startswith("https://kdsintf.amd.com/vcek/v1/Genoa/") and "answered 404" in view.bar.label.text()


def test_fetch_404_is_shown_in_place(session, qtbot, arun, tmp_path, monkeypatch) -> None:
    _serve(monkeypatch, lambda request: httpx.Response(404))
    view = _view(session, qtbot)
    arun(view.fetch_for(_report(tmp_path)))
    assert view.bar.kind == "error"
    assert view.bar.label.text().startswith("AMD has no VCEK for this chip/TCB (https://kdsintf.amd.com/")
    assert "answered 404" in view.bar.label.text()
    assert view.busy.isHidden() and view.model.rowCount() == 0 and _cache(session).items() == []


def test_fetch_offline_and_unreadable_evidence_are_shown_in_place(session, qtbot, arun, tmp_path,
                                                                   monkeypatch) -> None:
    def offline(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("network is unreachable", request=request)

    _serve(monkeypatch, offline)
    view = _view(session, qtbot)
    arun(view.fetch_for(_report(tmp_path)))
    assert view.bar.kind == "error" and "cannot reach kdsintf.amd.com: are you offline?" in view.bar.label.text()
    notes = tmp_path / "notes.bin"
    notes.write_bytes(b"\x00" * 3)
    arun(view.fetch_for(notes))
    assert view.bar.kind == "error" and "cannot tell what this evidence is" in view.bar.label.text()
    arun(view.fetch_for(tmp_path / "missing.bin"))
    assert "does not exist" in view.bar.label.text()


def test_cancelling_a_fetch_stops_it_in_the_worker(session, qtbot, arun, tmp_path, monkeypatch) -> None:
    import threading

    release = threading.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        # a real server makes the fetch wait on the network; here it waits on the test
        while not release.is_set():
            await asyncio.sleep(0.01)
        return _kds(request)

    seen = _serve(monkeypatch, slow)
    view = _view(session, qtbot)

    async def body() -> None:
        task = view.fetch_for(_report(tmp_path))
        assert task is not None
        await wait_until(lambda: len(seen) == 1)
        task.cancel()
        release.set()
        await wait_until(task.done)
        await asyncio.sleep(0.3)                       # time enough for the worker to go on, were it not stopped

    arun(body())
    assert len(seen) == 1 and view.busy.isHidden() and _cache(session).items() == []


# --- the screenshot ---------------------------------------------------------------------------------

@pytest.mark.xvfb
def test_screenshot_of_the_collateral_view(x_display, shot_dir, tmp_path):  # noqa: F811
    from core.workspace.manager import WorkspaceManager

    home = tmp_path / "home"
    manager = WorkspaceManager(home)
    try:
        cache = CollateralCache.for_workspace(manager.open("default", create=True).cache_dir)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        for item in synthetic_items(start=now - timedelta(days=10), fetched=now - timedelta(days=3)):
            cache.put(item)
    finally:
        manager.close()
    target = shot_dir / "collateral.png"
    result = run_app("--home", str(home), "--screenshot", str(target), "--view", "collateral",
                     env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": x_display})
    assert result.returncode == 0, result.stderr
    image = QImage(str(target))
    assert not image.isNull() and image.width() >= 900 and image.height() >= 600
    assert _distinct_colours(image) > 20
    tints = {image.pixel(x, y) & 0xFFFFFF for y in range(0, image.height(), 3) for x in range(0, image.width(), 3)}
    assert {0xE6F4EA, 0xFFF4D6, 0xFDECEA} <= tints    # fresh, expires-soon and expired status cells
