"""The Attestation Inspector view: real and synthetic evidence, drops, errors, hex, policy, export."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.asyncio_support import spawn, wait_until
from app.models.checks_model import COL_STATUS
from app.views.inspector_view import InspectorView
from core.attestation.snp.fields import FIELD_BY_NAME
from core.attestation.verdict import Status
from tests.gui.helpers import answer_file_dialog
from tests.gui.inspector_support import MSTAV_CAPTURE, mstav_files, real_set, write_policy, write_synthetic


@pytest.fixture
def view(qtbot, session):
    view = InspectorView(session)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    return view


async def _settle(view: InspectorView) -> None:
    await wait_until(lambda: view.task is not None and view.task.done() and not view.busy.busy, timeout=30)


def _statuses(view: InspectorView) -> dict[str, Status]:
    model = view.checks_panel.model
    return {model.check(r).id: model.check(r).status for r in range(model.rowCount())}


def _drop(view: InspectorView, paths: list[Path]) -> tuple[bool, bool]:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view, enter)
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QEvent.Type.Drop)
    QApplication.sendEvent(view, drop)
    return enter.isAccepted(), drop.isAccepted()


# --- real evidence (skips without the shared corpus) ---------------------------------------------

def test_real_report_through_the_file_dialog_is_authentic(view, arun):
    report, certs = mstav_files()

    async def scenario() -> None:
        view.certificate_paths = list(certs)
        view.set_time(MSTAV_CAPTURE)
        spawn(view.choose_evidence())
        await answer_file_dialog(report)
        await wait_until(lambda: view.evidence_path == report)
        await _settle(view)

    arun(scenario())
    assert view.banner.state == "ok"
    assert view.banner.title.text() == "Authentic"
    statuses = _statuses(view)
    assert statuses["snp.signature"] is Status.PASS and statuses["snp.validity"] is Status.PASS
    assert view.checks_panel.model.data(view.checks_panel.model.index(0, COL_STATUS)) == "Pass"
    assert view.certs_panel.model.rowCount() == 1  # one root (the ARK) with ASK and VCEK beneath
    assert view.tcb_panel.model.rowCount() == 4     # Milan: no FMC


def test_real_report_dropped_with_its_certificates(view, arun):
    report, certs = mstav_files()
    view.set_time(MSTAV_CAPTURE)
    entered, dropped = _drop(view, [report, *certs])
    assert entered and dropped
    arun(_settle(view))
    assert view.banner.state == "ok"
    assert view.certificate_paths == certs
    assert "vcek.pem" in view.inputs_label.text()


def test_mismatched_vlek_gives_a_red_headline_naming_the_signature(view, arun):
    folder = real_set("constellation_vlek_milan_v2_MISMATCH")
    _drop(view, [folder / "report.bin", folder / "vlek.pem", folder / "vlek_cert_chain.pem"])
    arun(_settle(view))
    assert view.banner.state == "bad"
    assert "NOT authentic" in view.banner.title.text()
    assert "snp.signature" in view.banner.detail.text()
    assert _statuses(view)["snp.signature"] is Status.FAIL
    first_failure = view.checks_panel.selected_check()  # the worst failure, not the first expiry
    assert first_failure is not None and first_failure.id == "snp.signature"
    assert view.banner.detail.text().startswith("It failed 2 checks: snp.signature, snp.validity.")
    assert first_failure.explanation in view.checks_panel.details.toPlainText()


def test_negative_derived_flip_is_not_authentic(view, arun):
    _report, certs = mstav_files()
    flipped = real_set("negative_derived") / "flip_measurement.bin"
    view.set_time(MSTAV_CAPTURE)
    view.certificate_paths = list(certs)
    arun(view.open_evidence(flipped))
    assert view.banner.state == "bad"
    assert "snp.signature" in view.banner.detail.text()


def test_truncated_report_is_reported_in_place(view, arun):
    truncated = real_set("negative_derived") / "truncated_1183.bin"
    arun(view.open_evidence(truncated))
    assert view.banner.state == "error"
    assert "truncated_1183.bin" in view.banner.title.text()
    assert "1183" in view.banner.detail.text()
    assert view.checks_panel.model.rowCount() == 0 and view.inspection is None
    assert not view.export_action.isEnabled()


def test_debug_guest_fails_a_no_debug_policy(view, arun, tmp_path):
    folder = real_set("gosevguest_milan_v2_vcek")
    policy = write_policy(tmp_path)
    view.set_time(MSTAV_CAPTURE)
    view.certificate_paths = [folder / "vcek.der", folder / "cert_chain.pem"]
    view.evidence_path = folder / "report.bin"
    arun(view.set_policy(policy))
    assert view.banner.state == "unacceptable"
    assert "policy.debug" in view.banner.detail.text()
    # red like forged evidence (do not send data), told apart only by its title
    assert "background: #fdecea" in view.banner.styleSheet()
    assert view.banner.title.text() == "Authentic, but NOT acceptable under the policy"
    comparison = view.comparison_panel.model
    ids = [comparison.check(r).id for r in range(comparison.rowCount())]
    assert "policy.debug" in ids
    row = ids.index("policy.debug")
    assert comparison.check(row).status is Status.FAIL
    assert comparison.data(comparison.index(row, 2)) != "—" and comparison.data(comparison.index(row, 3)) != "—"


# --- synthetic evidence (runs on a fresh machine) ----------------------------------------------

def test_synthetic_report_needs_the_test_root_trusted(view, arun, tmp_path):
    from tests.unit.attestation.snp.synth import AT

    report, certs = write_synthetic(tmp_path)
    assert not view.trust_box.isChecked()  # off by default
    view.set_time(AT)
    _drop(view, [report, *certs])
    arun(_settle(view))
    assert view.banner.state == "bad"  # an unknown root is not trusted by itself
    assert any(s is Status.FAIL for i, s in _statuses(view).items() if i.startswith("snp.chain"))
    view.trust_box.setChecked(True)
    arun(_settle(view))
    assert view.banner.state == "ok"
    assert "ARK-Milan" in view.banner.detail.text()


def test_synthetic_selecting_a_field_highlights_its_bytes(view, arun, tmp_path):
    from tests.unit.attestation.snp.synth import AT

    report, certs = write_synthetic(tmp_path)
    view.set_time(AT)
    view.trust_box.setChecked(True)
    view.certificate_paths = certs
    arun(view.open_evidence(report))
    hex_view = view.fields_panel.hex
    for name in ("measurement", "report_data", "chip_id", "signature_r"):
        assert view.fields_panel.select_field(name)
        spec = FIELD_BY_NAME[name]
        assert hex_view.selection_range == (spec.offset, spec.end)
    # the highlighted hex is exactly the measurement's bytes
    assert view.fields_panel.select_field("measurement")
    shown = "".join(part.replace(" ", "") for part in hex_view.highlighted_text()[0::2])
    assert shown == (b"\x11" * 48).hex()
    assert view.fields_panel.select_field("debug_allowed")  # a bit of the policy word
    assert hex_view.selection_range == (FIELD_BY_NAME["policy"].offset, FIELD_BY_NAME["policy"].end)
    assert view.fields_panel.select_field("sha256")  # derived: nothing to highlight
    assert hex_view.selection_range is None


def test_synthetic_debug_policy_breakdown_and_html_export(view, arun, tmp_path):
    from tests.unit.attestation.snp.synth import AT

    report, certs = write_synthetic(tmp_path, policy=0x30000 | (1 << 19))
    policy = write_policy(tmp_path, minimum_tcb=None)
    view.set_time(AT)
    view.trust_box.setChecked(True)
    view.certificate_paths, view.evidence_path = certs, report
    arun(view.set_policy(policy))
    assert view.banner.state == "unacceptable"
    assert view.comparison_panel.model.rowCount() > 0
    target = tmp_path / "out" / "report.html"
    target.parent.mkdir()
    arun(view.export_html_to(target))
    text = target.read_text()
    assert "AUTHENTIC" in text and "NOT acceptable under the policy" in text and "policy.debug" in text
    assert "Saved the report" in view.bar.text()


def test_tcb_breakdown_against_policy_minimums(view, arun, tmp_path):
    from core.attestation.snp.policy import TcbMinimum
    from tests.unit.attestation.snp.synth import AT, MILAN_TCB

    report, certs = write_synthetic(tmp_path)
    policy = write_policy(tmp_path, minimum_tcb=TcbMinimum(bootloader=MILAN_TCB.bootloader,
                                                           snp=MILAN_TCB.snp + 1))
    view.set_time(AT)
    view.trust_box.setChecked(True)
    view.certificate_paths, view.evidence_path = certs, report
    arun(view.set_policy(policy))
    rows = {view.tcb_panel.model.row(r).component: view.tcb_panel.model.row(r)
            for r in range(view.tcb_panel.model.rowCount())}
    assert rows["snp"].result == "below" and rows["snp"].minimum == MILAN_TCB.snp + 1
    assert rows["bootloader"].result == "meets" and rows["tee"].result == "none"
    assert view.banner.state == "unacceptable"


def test_wrong_file_and_wrong_policy_are_shown_in_place(view, arun, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("these are not attestation evidence, just some words")
    arun(view.open_evidence(junk))
    assert view.banner.state == "error" and "cannot tell what this evidence is" in view.banner.detail.text()
    report, certs = write_synthetic(tmp_path)
    bad_policy = tmp_path / "policy.json"
    bad_policy.write_text('{"hello": 1}')
    view.evidence_path, view.certificate_paths = report, certs
    arun(view.set_policy(bad_policy))
    assert view.banner.state == "error" and "not an attestation policy" in view.banner.detail.text()


def test_gui_stays_responsive_while_verifying(view, arun, tmp_path, monkeypatch):
    import app.views.inspector_view as module

    report, certs = write_synthetic(tmp_path)
    real_inspect = module.inspect

    def slow_inspect(inputs):
        time.sleep(0.8)  # stands in for a slow collateral pack or a large quote
        return real_inspect(inputs)

    monkeypatch.setattr(module, "inspect", slow_inspect)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))

    async def scenario() -> None:
        timer.start()
        view.certificate_paths = certs
        task = view.open_evidence(report)
        await asyncio.sleep(0.1)
        assert view.banner.state == "busy" and view.busy.busy
        await task
        timer.stop()

    arun(scenario())
    assert len(ticks) >= 15, f"the event loop ran only {len(ticks)} timer ticks in 0.8 s"
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.3
    assert view.banner.state in ("ok", "bad")


def test_tdx_tcb_tab_lists_each_svn_against_the_policy_and_the_matched_level(view, arun, tmp_path):
    from app.models.tdx_tcb_model import COL_LEVEL, COL_MINIMUM, COL_RESULT
    import json

    from core.attestation.tdx.policy import TdxPolicy
    from tests.unit.attestation.tdx.synth import make_quote, make_tcb_info

    quote = tmp_path / "quote.bin"
    quote.write_bytes(make_quote(tee_tcb_svn=bytes([1, 0, 3] + [0] * 13)))
    collateral = tmp_path / "collateral"
    collateral.mkdir()
    (collateral / "tcbInfo.json").write_bytes(make_tcb_info())
    policy = tmp_path / "tdx-policy.json"
    policy.write_text(json.dumps(TdxPolicy(minimum_tee_tcb_svn=bytes([2] + [0] * 15)).to_json()))
    arun(view.open_paths([quote, collateral, policy]))
    panel = view.tcb_panel
    assert panel.table.model() is panel.tdx_model and panel.tdx_model.rowCount() == 16
    model = panel.tdx_model
    # byte 0 is below the policy's minimum; byte 2 meets the matched level's tdxtcbcomponents
    assert model.index(0, COL_MINIMUM).data() == "2" and model.index(0, COL_RESULT).data() == "BELOW the minimum"
    assert model.index(2, COL_LEVEL).data() == "3" and model.index(2, COL_RESULT).data() == "meets the minimum"
    assert "UpToDate" in panel.note.text()


def test_collateral_in_the_workspace_cache_is_used_without_being_named(view, session, arun, tmp_path):
    from app.views import collateral_work
    from tests.unit.attestation.tdx.synth import make_quote, make_tcb_info

    quote = tmp_path / "quote.bin"
    quote.write_bytes(make_quote())
    tcb_info = tmp_path / "tcbInfo.json"
    tcb_info.write_bytes(make_tcb_info())
    arun(view.open_paths([quote]))
    assert view.inspection is not None and view.inspection.tdx_tcb is None  # nothing cached yet
    assert "No Intel TCB Info matched" in view.tcb_panel.note.text()

    collateral_work.import_paths(session.workspace.cache_dir, [tcb_info])  # as the Collateral view does
    arun(view.verify())
    assert view.inspection.inputs.collateral == ()   # not named: it came from the cache
    assert view.inspection.tdx_tcb is not None and view.inspection.tdx_tcb.platform_status == "UpToDate"
    assert "UpToDate" in view.tcb_panel.note.text()
