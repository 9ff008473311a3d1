"""The TCG crypto-agile event log: layout, replay, typed rejections, fuzzing."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.attestation.vtpm.algorithms import TpmAlg
from core.attestation.vtpm.errors import EventLogError
from core.attestation.vtpm.eventlog import (
    EV_NO_ACTION, EV_SEPARATOR, SPEC_ID_SIGNATURE, EventSpec, build_event_log, parse_event_log,
)
from core.errors import EvidenceError
from tests.conftest import shared_testdata

from .synth import event_log
from .test_structures import mutations

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_header_layout() -> None:
    raw = build_event_log([], banks=(TpmAlg.SHA256,))
    pcr, kind = struct.unpack_from("<II", raw)
    assert (pcr, kind) == (0, EV_NO_ACTION) and raw[8:28] == bytes(20)
    size = struct.unpack_from("<I", raw, 28)[0]
    assert raw[32:48] == SPEC_ID_SIGNATURE and len(raw) == 32 + size
    log = parse_event_log(raw)
    assert log.spec.digest_sizes == ((TpmAlg.SHA256, 32),) and log.spec.spec_version == (2, 0, 0)
    assert log.spec.uintn_size == 2  # UINT64
    assert log.events == ()


def test_replay_by_hand() -> None:
    events = [EventSpec(4, 0x80000003, b"one"), EventSpec(4, 0x80000003, b"two"),
              EventSpec(7, EV_SEPARATOR, b"\x00" * 4)]
    log = parse_event_log(build_event_log(events, banks=(TpmAlg.SHA1, TpmAlg.SHA256)))
    pcr4 = bytes(32)
    for data in (b"one", b"two"):
        pcr4 = hashlib.sha256(pcr4 + hashlib.sha256(data).digest()).digest()
    replayed = log.replay()
    assert replayed[TpmAlg.SHA256][4] == pcr4
    assert replayed[TpmAlg.SHA1][7] == hashlib.sha1(bytes(20) + hashlib.sha1(b"\x00" * 4).digest()).digest()
    assert set(replayed[TpmAlg.SHA256]) == {4, 7}
    assert log.events[0].digest_for(TpmAlg.SHA1) == hashlib.sha1(b"one").digest()


def test_startup_locality_sets_pcr0_start() -> None:
    log = parse_event_log(build_event_log([EventSpec(0, 1, b"fw")], banks=(TpmAlg.SHA256,), startup_locality=3))
    assert log.startup_locality == 3
    start = bytes(31) + b"\x03"
    assert log.replay()[TpmAlg.SHA256][0] == hashlib.sha256(start + hashlib.sha256(b"fw").digest()).digest()


def test_no_action_events_are_not_extended() -> None:
    log = parse_event_log(build_event_log([EventSpec(3, EV_NO_ACTION, b"note")], banks=(TpmAlg.SHA256,)))
    assert log.replay()[TpmAlg.SHA256] == {}


def test_rejections_say_what_is_wrong() -> None:
    good = event_log()
    with pytest.raises(EventLogError, match="truncated"):
        parse_event_log(good[:-1])
    with pytest.raises(EventLogError, match="Spec ID"):
        parse_event_log(good[:32] + b"Spec ID Event02\x00" + good[48:])
    with pytest.raises(EventLogError, match="EV_NO_ACTION"):
        parse_event_log(good[:4] + b"\x01" + good[5:])
    # an event with a digest for a bank the header did not declare (SHA-512)
    bad = build_event_log([EventSpec(1, 1, b"x", ((TpmAlg.SHA512, bytes(64)),))], banks=(TpmAlg.SHA256,))
    with pytest.raises(EventLogError, match="did not declare"):
        parse_event_log(bad)
    high_pcr = build_event_log([EventSpec(40, 1, b"x")], banks=(TpmAlg.SHA256,))
    with pytest.raises(EventLogError, match="PCR 40") as info:
        parse_event_log(high_pcr)
    assert info.value.code == "tpm-event-log"


def test_wrong_digest_size_in_header() -> None:
    raw = bytearray(build_event_log([], banks=(TpmAlg.SHA256,)))
    offset = 32 + 16 + 4 + 4 + 4 + 2  # the digestSize of the first algorithm
    raw[offset:offset + 2] = (20).to_bytes(2, "little")
    with pytest.raises(EventLogError, match="20-byte digest"):
        parse_event_log(bytes(raw))


def test_fill_after_the_last_event_is_ignored() -> None:
    log = event_log()
    assert parse_event_log(log + b"\xff" * 4096).events == parse_event_log(log).events
    assert parse_event_log(log + bytes(100)).events == parse_event_log(log).events
    with pytest.raises(EventLogError, match="truncated"):
        parse_event_log(log + b"\x01\x00")


def test_real_tdx_ccel_log_replays_to_the_published_rtmrs() -> None:
    # A crypto-agile log from GCP TDX (go-tdx-guest testdata): MR index i+1 replays to RTMR[i].
    base = shared_testdata("attestation", "tdx", "gotdx_gcp_cos113_v4_ccel")
    log = parse_event_log((base / "ccel_eventlog.bin").read_bytes())
    assert log.spec.digest_sizes == ((TpmAlg.SHA384, 48),) and len(log.events) == 43
    replayed = log.replay()[TpmAlg.SHA384]
    published = {}
    for line in (base / "RTMR_REPLAY.txt").read_text().splitlines():
        name, verdict, value = line.split()
        assert verdict == "match"
        published[int(name[4:]) + 1] = bytes.fromhex(value)
    assert {i: replayed.get(i, bytes(48)) for i in published} == published


@FUZZ
@given(st.one_of(mutations(event_log()), st.binary(max_size=200)))
def test_fuzz_event_log(data: bytes) -> None:
    try:
        log = parse_event_log(data)
    except EventLogError as exc:
        assert isinstance(exc, EvidenceError) and str(exc)
        return
    assert isinstance(log.replay(), dict)
