"""Appending to and reading the audit log; what details it accepts."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import BadInput
from core.workspace.audit import AuditLog
from core.workspace.audit_chain import ZERO_HASH
from core.workspace.store import Store


@pytest.fixture
def log(tmp_path: Path):
    store = Store(tmp_path / "store.sqlite")
    yield AuditLog(store, "alice")
    store.close()


def _independent_hash(record) -> str:
    details = json.dumps(record.details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    time = record.time.isoformat(timespec="microseconds")
    payload = ["prism-audit/1", record.seq, time, record.actor, record.action, record.subject, details,
               record.prev_hash]
    return hashlib.sha256(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def test_append_links_each_event_to_the_previous(log: AuditLog) -> None:
    before = datetime.now(timezone.utc)
    first = log.append("key.create", "alice-signing", {"type": "ecdsa-p256"})
    second = log.append("key.export", "alice-signing", actor="bob")
    assert (first.seq, first.prev_hash, first.actor) == (1, ZERO_HASH, "alice")
    assert (second.seq, second.prev_hash, second.actor, second.details) == (2, first.hash, "bob", {})
    assert first.time.tzinfo is not None and first.time.utcoffset() == timedelta(0)
    assert before <= first.time <= second.time <= datetime.now(timezone.utc)
    assert first.hash == _independent_hash(first) and second.hash == _independent_hash(second)
    assert log.events() == [first, second]


def test_a_hundred_events_verify(log: AuditLog) -> None:
    for index in range(100):
        log.append("test.event", f"subject-{index}", {"index": index})
    report = log.verify_chain()
    assert (report.ok, report.checked, report.first_bad_seq, report.problem) == (True, 100, None, "")


def test_empty_log_verifies(log: AuditLog) -> None:
    assert log.verify_chain() == log.verify_chain()
    assert log.verify_chain().ok and log.verify_chain().checked == 0
    assert log.count() == 0 and log.events() == []


def _seed(log: AuditLog) -> None:
    log.append("key.create", "alice-signing", {"algorithm": "Ed25519", "note": "Zürich office"})
    log.append("key.delete", "old-key")
    log.append("ca.issue", "agent.example", {"serial": "0a1b"})
    log.append("keystore.unlock", "keystore", actor="Bob")
    log.append("key.create", "100%_done", {"path": "C:\\keys\\a"})


def test_count_and_filter_by_action_prefix(log: AuditLog) -> None:
    _seed(log)
    assert log.count() == 5
    assert log.count(action_prefix="key.") == 3
    assert log.count(action_prefix="key") == 4  # keystore.unlock too: a plain prefix
    assert log.count(action_prefix="KEY.") == 0  # prefixes are case-sensitive
    assert log.count(action_prefix="k%") == 0  # and not LIKE patterns
    assert [r.seq for r in log.events(action_prefix="ca.")] == [3]


def test_text_search_is_case_insensitive_substring_over_all_fields(log: AuditLog) -> None:
    _seed(log)
    assert [r.seq for r in log.events(text="ALICE")] == [1, 2, 3, 5]  # actor "alice" matches
    assert [r.seq for r in log.events(text="bob")] == [4]  # actor, other case
    assert [r.seq for r in log.events(text="zÜRICH")] == [1]  # inside details, non-ASCII case
    assert [r.seq for r in log.events(text="0A1B")] == [3]
    assert [r.seq for r in log.events(text="100%_")] == [5]  # % and _ are literal
    assert log.count(text="%") == 1 and log.count(text="_d") == 1
    assert log.count(text="nothing like this") == 0
    assert log.count(action_prefix="key.", text="old") == 1


def test_paging_and_order(log: AuditLog) -> None:
    for index in range(10):
        log.append("test.event", f"s{index}")
    assert [r.seq for r in log.events(offset=2, limit=3)] == [3, 4, 5]
    assert [r.seq for r in log.events(limit=3, newest_first=True)] == [10, 9, 8]
    assert [r.seq for r in log.events(offset=8, limit=5)] == [9, 10]
    assert log.events(offset=10) == [] and log.events(limit=0) == []


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"offset": -1}, "offset"), ({"limit": -2}, "limit"), ({"offset": 1.5}, "offset"), ({"limit": "3"}, "limit"),
     ({"action_prefix": 3}, "action prefix"), ({"text": b"x"}, "search text")],
)
def test_bad_query_arguments_are_bad_input(log: AuditLog, kwargs: dict, fragment: str) -> None:
    with pytest.raises(BadInput, match=fragment):
        log.events(**kwargs)


@pytest.mark.parametrize(
    ("details", "fragment"),
    [
        ({"when": datetime.now()}, "datetime"),
        ({"raw": b"\x00"}, "bytes"),
        ({"set": {1, 2}}, "set"),
        ({"ratio": math.nan}, "nan"),
        ({"ratio": math.inf}, "inf"),
        ({1: "int key"}, "not text"),
        ({"tuple": (1, 2)}, "tuple"),
        ({"bad": "\ud800"}, "not valid Unicode"),
        (["not", "a", "mapping"], "mapping"),
    ],
)
def test_details_that_are_not_exact_json_are_refused(log: AuditLog, details, fragment: str) -> None:
    with pytest.raises(BadInput, match=fragment) as caught:
        log.append("test.event", "subject", details)
    assert caught.value.code == "bad-input"
    assert log.count() == 0  # nothing half-written


def test_too_deep_details_are_refused(log: AuditLog) -> None:
    nested: dict = {}
    for _ in range(40):
        nested = {"n": nested}
    with pytest.raises(BadInput, match="nested more than"):
        log.append("test.event", "deep", nested)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [("action", "", "must not be empty"), ("action", "a" * 101, "limit is 100"), ("subject", "s" * 501, "limit is 500"),
     ("actor", "x" * 201, "limit is 200"), ("action", 7, "must be text")],
)
def test_bad_event_fields_are_refused(log: AuditLog, field: str, value, fragment: str) -> None:
    arguments = {"action": "test.event", "subject": "s", "actor": None} | {field: value}
    with pytest.raises(BadInput, match=fragment):
        log.append(arguments["action"], arguments["subject"], actor=arguments["actor"])


def test_empty_actor_for_the_log_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store, pytest.raises(BadInput, match="actor must not be empty"):
        AuditLog(store, "")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(details=st.dictionaries(st.text(max_size=10), _json_values, max_size=5))
def test_fuzz_json_details_round_trip_and_verify(log: AuditLog, details: dict) -> None:
    surrogate = any(0xD800 <= ord(ch) <= 0xDFFF for ch in json.dumps(details, ensure_ascii=False))
    try:
        record = log.append("fuzz.event", "subject", details)
    except BadInput:
        assert surrogate
        return
    assert not surrogate
    assert record.details == details
    assert log.events(offset=record.seq - 1, limit=1)[0].details == details


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(details=st.one_of(
    st.dictionaries(st.one_of(st.integers(), st.text()), st.one_of(st.binary(), st.complex_numbers(), st.none())),
    st.lists(st.integers()), st.binary(), st.floats(),
))
def test_fuzz_arbitrary_details_only_raise_bad_input(log: AuditLog, details) -> None:
    before = log.count()
    try:
        log.append("fuzz.event", "subject", details)
    except BadInput:
        assert log.count() == before
    else:
        assert log.count() == before + 1
