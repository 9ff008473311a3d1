"""verify_chain() against a log edited behind Prism's back, and the head anchor's crash rule."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import StoreCorrupted
from core.workspace.audit import AuditLog
from core.workspace.audit_chain import chain_hash
from core.workspace.store import Store

EVENTS = 10


@pytest.fixture
def log(tmp_path: Path):
    store = Store(tmp_path / "store.sqlite")
    audit = AuditLog(store, "alice")
    for index in range(1, EVENTS + 1):
        audit.append("test.event", f"subject-{index}", {"index": index})
    yield audit
    store.close()


def _sql(log: AuditLog, *statements: str) -> None:
    raw = sqlite3.connect(log.store.path)
    try:
        for statement in statements:
            raw.execute(statement)
        raw.commit()
    finally:
        raw.close()


def _anchor(log: AuditLog) -> dict:
    return json.loads(log.head_path.read_text())


def _set_anchor(log: AuditLog, **fields) -> None:
    log.head_path.write_text(json.dumps(_anchor(log) | fields))


def _rehash(log: AuditLog, seq: int) -> None:
    """Recompute one row's own hash after editing it, as a careful forger would."""
    raw = sqlite3.connect(log.store.path)
    try:
        row = raw.execute("SELECT seq, time, actor, action, subject, details, prev_hash FROM audit_events "
                          "WHERE seq = ?", (seq,)).fetchone()
        raw.execute("UPDATE audit_events SET hash = ? WHERE seq = ?", (chain_hash(*row), seq))
        raw.commit()
    finally:
        raw.close()


def _expect(log: AuditLog, first_bad: int | None, problem: str, checked: int | None = None) -> None:
    report = log.verify_chain()
    assert (report.ok, report.first_bad_seq, report.problem) == (False, first_bad, problem)
    if checked is not None:
        assert report.checked == checked


def test_untouched_log_verifies(log: AuditLog) -> None:
    report = log.verify_chain()
    assert (report.ok, report.checked, report.first_bad_seq) == (True, EVENTS, None)


@pytest.mark.parametrize("column", ["time", "actor", "action", "subject", "details", "prev_hash"])
def test_edited_field_is_reported(log: AuditLog, column: str) -> None:
    value = {"details": '{"index":70}', "prev_hash": "f" * 64, "time": "2020-01-01T00:00:00.000000+00:00"}
    _sql(log, f"UPDATE audit_events SET {column} = '{value.get(column, 'mallory')}' WHERE seq = 7")
    _expect(log, 7, "event 7 was edited", checked=6)


def test_edited_event_with_recomputed_hash_is_caught_by_its_successor(log: AuditLog) -> None:
    _sql(log, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 4")
    _rehash(log, 4)
    _expect(log, 4, "event 4 was edited")


def test_edited_last_event_with_recomputed_hash_is_caught_by_the_anchor(log: AuditLog) -> None:
    _sql(log, f"UPDATE audit_events SET actor = 'mallory' WHERE seq = {EVENTS}")
    _rehash(log, EVENTS)
    _expect(log, EVENTS, f"the head anchor audit.head does not match event {EVENTS}: "
                         "the anchor file or the end of the log was rewritten")


def test_missing_middle_event_is_reported(log: AuditLog) -> None:
    _sql(log, "DELETE FROM audit_events WHERE seq = 4")
    _expect(log, 4, "event 4 is missing", checked=3)


def test_several_missing_events_are_reported_as_a_range(log: AuditLog) -> None:
    _sql(log, "DELETE FROM audit_events WHERE seq BETWEEN 4 AND 6")
    _expect(log, 4, "events 4 to 6 are missing")


def test_swapped_adjacent_events_are_out_of_order(log: AuditLog) -> None:
    _sql(log, "UPDATE audit_events SET seq = -5 WHERE seq = 5",
         "UPDATE audit_events SET seq = 5 WHERE seq = 6",
         "UPDATE audit_events SET seq = 6 WHERE seq = -5")
    _expect(log, 5, "events 5 and 6 are out of order", checked=4)


def test_swapped_distant_events_are_out_of_order(log: AuditLog) -> None:
    _sql(log, "UPDATE audit_events SET seq = -2 WHERE seq = 2",
         "UPDATE audit_events SET seq = 2 WHERE seq = 9",
         "UPDATE audit_events SET seq = 9 WHERE seq = -2")
    _expect(log, 2, "events 2 and 9 are out of order")


def test_inserted_event_zero_is_reported(log: AuditLog) -> None:
    _sql(log, "INSERT INTO audit_events SELECT 0, time, actor, action, subject, details, prev_hash, hash "
              "FROM audit_events WHERE seq = 1")
    _expect(log, 1, "an event numbered 0 was inserted; numbers start at 1")


def test_removed_last_events_are_reported(log: AuditLog) -> None:
    _sql(log, f"DELETE FROM audit_events WHERE seq > {EVENTS - 2}")
    _expect(log, EVENTS - 1, "the last 2 events were removed", checked=EVENTS - 2)


def test_removed_last_event_is_reported(log: AuditLog) -> None:
    _sql(log, f"DELETE FROM audit_events WHERE seq = {EVENTS}")
    _expect(log, EVENTS, "the last event was removed")


def test_emptied_log_is_reported(log: AuditLog) -> None:
    _sql(log, "DELETE FROM audit_events")
    _expect(log, 1, f"the last {EVENTS} events were removed", checked=0)


def test_appending_after_a_removal_does_not_hide_it(log: AuditLog) -> None:
    _sql(log, f"DELETE FROM audit_events WHERE seq > {EVENTS - 2}")
    log.append("test.event", "after the cut")
    log.append("test.event", "after the cut")
    assert _anchor(log)["seq"] == EVENTS  # the anchor keeps the evidence
    # new events 9 and 10 were chained on, but the anchor still holds the old event 10
    _expect(log, EVENTS, f"the head anchor audit.head does not match event {EVENTS}: "
                         "the anchor file or the end of the log was rewritten")
    reopened = AuditLog(log.store, "alice")
    assert not reopened.verify_chain().ok


def test_edited_anchor_hash_is_reported(log: AuditLog) -> None:
    _set_anchor(log, hash="ab" * 32)
    _expect(log, EVENTS, f"the head anchor audit.head does not match event {EVENTS}: "
                         "the anchor file or the end of the log was rewritten")


def test_anchor_pointing_beyond_the_log_is_reported(log: AuditLog) -> None:
    _set_anchor(log, seq=EVENTS + 3)
    _expect(log, EVENTS + 1, "the last 3 events were removed")


def test_anchor_set_back_two_events_is_reported(log: AuditLog) -> None:
    row = sqlite3.connect(log.store.path).execute("SELECT hash FROM audit_events WHERE seq = 8").fetchone()
    _set_anchor(log, seq=8, hash=row[0])
    _expect(log, 9, "events 9 to 10 were added without updating the head anchor audit.head, "
                    "so they cannot be vouched for")


@pytest.mark.parametrize("content", [b"", b"garbage", b"{}", b'{"format": "prism-audit-head/1", "seq": -1}',
                                     b"\xff\xfe" * 10, b"{" * 5000])
def test_unreadable_anchor_is_reported(log: AuditLog, content: bytes) -> None:
    log.head_path.write_bytes(content)
    report = log.verify_chain()
    assert (report.ok, report.first_bad_seq, report.checked) == (False, None, EVENTS)
    assert report.problem.startswith(f"the audit head anchor {log.head_path} is damaged")
    log.append("test.event", "later")  # appends still work, and leave the evidence alone
    assert log.head_path.read_bytes() == content


def test_missing_anchor_file_is_reported(log: AuditLog) -> None:
    log.head_path.unlink()
    _expect(log, 1, "the head anchor file audit.head is missing, so the end of the log cannot be vouched for")


def test_anchor_one_behind_is_a_benign_crash_and_repaired_on_open(log: AuditLog) -> None:
    stale = log.head_path.read_bytes()
    log.append("test.event", "in flight when the app died")
    log.head_path.write_bytes(stale)  # as if killed between the commit and the anchor write
    assert _anchor(log)["seq"] == EVENTS
    report = log.verify_chain()
    assert (report.ok, report.checked) == (True, EVENTS + 1)
    AuditLog(log.store, "alice")  # the next open repairs it
    assert _anchor(log)["seq"] == EVENTS + 1


def test_crash_during_the_very_first_append_is_benign(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        first = AuditLog(store, "alice")
        first.head_path.unlink()
        first.append("test.event", "one")
        first.head_path.unlink()  # killed before the first anchor write
        assert first.verify_chain().ok
        AuditLog(store, "alice")
        assert _anchor(first)["seq"] == 1


def test_anchor_file_is_owner_only(log: AuditLog) -> None:
    assert log.head_path.stat().st_mode & 0o777 == 0o600


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=300) | st.text(max_size=200).map(str.encode)
       | st.fixed_dictionaries({"format": st.just("prism-audit-head/1"), "seq": st.integers(-3, 20),
                                "hash": st.text("0123456789abcdef", min_size=60, max_size=66)})
       .map(lambda d: json.dumps(d).encode()))
def test_fuzz_anchor_content_always_yields_a_report(log: AuditLog, content: bytes) -> None:
    log.head_path.write_bytes(content)
    report = log.verify_chain()
    assert report.checked == EVENTS
    assert report.ok == (report.problem == "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seq=st.integers(1, EVENTS),
    column=st.sampled_from(["time", "actor", "action", "subject", "details", "prev_hash", "hash"]),
    value=st.one_of(st.text(max_size=80), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.binary(max_size=40)),
)
def test_fuzz_any_outside_edit_is_pinned_to_its_event(log: AuditLog, seq: int, column: str, value) -> None:
    raw = sqlite3.connect(log.store.path)
    try:
        [original] = raw.execute(f"SELECT {column} FROM audit_events WHERE seq = ?", (seq,)).fetchone()
        if value == original:
            return
        raw.execute(f"UPDATE audit_events SET {column} = ? WHERE seq = ?", (value, seq))
        raw.commit()
        report = log.verify_chain()
        assert (report.ok, report.first_bad_seq, report.problem) == (False, seq, f"event {seq} was edited")
        try:
            log.events()
        except StoreCorrupted as exc:  # a mangled time or details cannot become a record
            assert column in ("time", "details") and f"event {seq}" in str(exc)
    finally:
        raw.execute(f"UPDATE audit_events SET {column} = ? WHERE seq = ?", (original, seq))
        raw.commit()
        raw.close()
