"""Fuzzing the untrusted-input parsers: only our typed EvidenceError may escape."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.attestation.tdx.collateral import parse_qe_identity, parse_tcb_info
from core.attestation.tdx.errors import TdxEvidenceError, TdxPolicyError
from core.attestation.tdx.pck import parse_sgx_extension
from core.attestation.tdx.policy import TdxPolicy
from core.attestation.tdx.quote import parse_quote
from core.errors import EvidenceError

from .synth import make_qe_identity, make_quote, make_tcb_info, sgx_extension_der

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
QUOTE = make_quote(version=5, body_type=3)
TCB_INFO = make_tcb_info()
QE_IDENTITY = make_qe_identity()
SGX_EXT = sgx_extension_der()


def _mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """Seed bytes with a few positions overwritten, truncated or extended."""
    edit = st.tuples(st.integers(0, len(seed) - 1), st.binary(min_size=1, max_size=4))

    @st.composite
    def mutate(draw) -> bytes:  # type: ignore[no-untyped-def]
        data = bytearray(seed)
        for pos, value in draw(st.lists(edit, max_size=4)):
            data[pos : pos + len(value)] = value
        cut = draw(st.integers(0, len(data)))
        return bytes(data[:cut]) + draw(st.binary(max_size=8))

    return mutate()


def _only_evidence_errors(parse, data: bytes) -> None:  # type: ignore[no-untyped-def]
    try:
        parse(data)
    except EvidenceError as exc:
        assert isinstance(exc, TdxEvidenceError) and exc.code.startswith("tdx-")


@FUZZ
@given(st.one_of(st.binary(max_size=1500), _mutations(QUOTE)))
def test_quote_parser(data: bytes) -> None:
    _only_evidence_errors(parse_quote, data)


@FUZZ
@given(st.binary(max_size=64))
def test_quote_parser_bad_lengths(tail: bytes) -> None:
    # a plausible header and descriptor followed by arbitrary length fields
    head = QUOTE[:48] + struct.pack("<HI", 3, 648) + QUOTE[54:702]
    _only_evidence_errors(parse_quote, head + tail)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(st.one_of(st.binary(max_size=300), _mutations(TCB_INFO), _json.map(lambda v: str(v).encode())))
def test_tcb_info_parser(data: bytes) -> None:
    _only_evidence_errors(parse_tcb_info, data)


@FUZZ
@given(st.one_of(st.binary(max_size=300), _mutations(QE_IDENTITY)))
def test_qe_identity_parser(data: bytes) -> None:
    _only_evidence_errors(parse_qe_identity, data)


@FUZZ
@given(_json)
def test_tcb_info_structure(value: object) -> None:
    import json
    doc = json.dumps({"tcbInfo": value, "signature": "00" * 64}).encode()
    _only_evidence_errors(parse_tcb_info, doc)


@FUZZ
@given(st.one_of(st.binary(max_size=200), _mutations(SGX_EXT)))
def test_sgx_extension_parser(data: bytes) -> None:
    _only_evidence_errors(parse_sgx_extension, data)


@FUZZ
@given(_json)
def test_policy_reader(value: object) -> None:
    import json
    try:
        TdxPolicy.from_json(json.dumps(value))
    except TdxPolicyError as exc:
        assert exc.code == "tdx-bad-policy"
