"""CollateralItem: validity read from the item itself, age and expiry at fixed times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.attestation.collateral import kinds as K
from core.attestation.collateral.classify import classify_blob
from core.attestation.collateral.errors import CollateralDataError
from core.attestation.collateral.items import CollateralItem
from core.errors import EvidenceError

from .helpers import T0, cert, crl, der, pem, tcb_info_json

FETCHED = datetime(2025, 3, 2, 12, 0, tzinfo=timezone.utc)


def _make(kind: str, data: bytes, key: str = "k") -> CollateralItem:
    return CollateralItem.create(kind, key, data, source_url="https://example.test/x", fetched_at=FETCHED)


def test_certificate_validity_comes_from_the_certificate() -> None:
    item = _make(K.AMD_VCEK, der(cert("vcek", days=30)))
    assert item.not_before == T0
    assert item.not_after == T0 + timedelta(days=30)
    assert not item.expired(T0 + timedelta(days=29))
    assert item.expired(T0 + timedelta(days=31))


def test_chain_holds_as_long_as_its_shortest_certificate() -> None:
    item = _make(K.AMD_CERT_CHAIN, pem(cert("ask", days=10), cert("ark", days=100)))
    assert item.not_after == T0 + timedelta(days=10)


def test_crl_next_update_is_the_expiry() -> None:
    item = _make(K.AMD_CRL, crl(days=7))
    assert item.next_update == T0 + timedelta(days=7)
    assert item.fresh(T0 + timedelta(days=6))
    assert not item.fresh(T0 + timedelta(days=8))


def test_intel_json_next_update_is_the_expiry() -> None:
    item = _make(K.INTEL_TCB_INFO, tcb_info_json(next_update="2025-03-31T00:00:00Z"), "b0c06f000000")
    assert item.not_before == datetime(2025, 3, 1, tzinfo=timezone.utc)
    assert item.not_after == datetime(2025, 3, 31, tzinfo=timezone.utc)


def test_age_and_max_age() -> None:
    item = _make(K.AMD_VCEK, der(cert("vcek")))
    at = FETCHED + timedelta(hours=5)
    assert item.age(at) == timedelta(hours=5)
    assert item.fresh(at, max_age=timedelta(hours=6))
    assert not item.fresh(at, max_age=timedelta(hours=4))
    # a naive time is read as UTC
    assert item.age(at.replace(tzinfo=None)) == timedelta(hours=5)


def test_describe_names_kind_key_source_and_expiry() -> None:
    item = _make(K.AMD_CRL, crl(days=7), "vcek/Milan")
    text = item.describe()
    assert "AMD CRL [vcek/Milan]" in text and "https://example.test/x" in text
    assert "valid until 2025-03-08" in text
    assert "EXPIRED" in item.describe(T0 + timedelta(days=30))


@pytest.mark.parametrize("kind", [K.AMD_VCEK, K.AMD_CERT_CHAIN, K.AMD_CRL, K.INTEL_TCB_INFO, K.INTEL_QE_IDENTITY])
def test_garbage_is_a_typed_error_naming_the_kind(kind: str) -> None:
    with pytest.raises(CollateralDataError) as info:
        _make(kind, b"\x30\x03garbage")
    assert isinstance(info.value, EvidenceError)


def test_single_certificate_kind_refuses_a_bundle() -> None:
    with pytest.raises(CollateralDataError, match="2 certificates where one was expected"):
        _make(K.AMD_VCEK, pem(cert("a"), cert("b")))


def test_unknown_kind_and_empty_key_are_refused() -> None:
    with pytest.raises(CollateralDataError, match="unknown collateral kind"):
        _make("amd.nonsense", der(cert("a")))
    with pytest.raises(CollateralDataError, match="needs a key"):
        _make(K.AMD_VCEK, der(cert("a")), key="")


# --- fuzz: untrusted bytes only ever give our typed errors ------------------------------------

_SEEDS = [der(cert("seed")), pem(cert("a"), cert("b")), crl(), tcb_info_json(),
          b'{"enclaveIdentity": {"id": "TD_QE"}, "signature": "00"}']


@settings(max_examples=300, deadline=None)
@given(seed=st.sampled_from(_SEEDS), flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
       cut=st.integers(0, 10_000))
def test_fuzz_classify_and_create(seed: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    raw = bytearray(seed)
    for pos, value in flips:
        raw[pos % len(raw)] = value
    data = bytes(raw[:cut])
    for kind, key, blob in classify_blob(data):
        assert kind in K.KINDS and key
        try:
            CollateralItem.create(kind, key, blob, source_url="fuzz", fetched_at=FETCHED)
        except CollateralDataError:
            pass
    for kind in K.KINDS:
        try:
            CollateralItem.create(kind, "k", data, source_url="fuzz", fetched_at=FETCHED)
        except CollateralDataError:
            pass
