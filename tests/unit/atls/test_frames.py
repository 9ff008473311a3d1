"""Framing (§12.2) and handshake-message encodings (§12.3): vectors, round trips, truncation, fuzz."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.atls import make_request
from core.atls.errors import AtlsProtocolError, AtlsRefused
from core.atls.frames import (
    EXT_CMW_ATTESTATION, FRAME_AUTHENTICATOR, FRAME_REQUEST, HS_FINISHED, MAX_FRAME_PAYLOAD,
    Certificate, CertificateEntry, CertificateVerify, Extension, Finished, decode_frame, encode_frame,
    handshake_message, parse_authenticator, parse_certificate, parse_frame_header, parse_request,
)
from core.atls.signing import DEFAULT_SCHEMES
from tests.unit.atls.helpers import make_session

SPEC_REQUEST = bytes.fromhex(
    "1100002f20000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "000c000d000400020403ff000000")
SPEC_FRAME = bytes.fromhex(
    "01000000331100002f20000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "000c000d000400020403ff000000")


def test_request_matches_the_spec_vector_byte_for_byte():
    assert make_request(bytes(range(32)), (0x0403,)) == SPEC_REQUEST
    assert encode_frame(FRAME_REQUEST, SPEC_REQUEST) == SPEC_FRAME
    assert decode_frame(SPEC_FRAME, FRAME_REQUEST) == SPEC_REQUEST


def test_default_request_offers_three_schemes_and_cmw_with_a_fresh_context():
    first, second = parse_request(make_request()), parse_request(make_request())
    assert len(first.context) == 32 and first.context != second.context
    assert first.signature_schemes == DEFAULT_SCHEMES
    assert first.offers_cmw_attestation
    assert [e for e in first.extensions if e.type == EXT_CMW_ATTESTATION][0].data == b""


def test_request_context_length_is_bounded():
    with pytest.raises(AtlsProtocolError):
        make_request(b"")
    with pytest.raises(AtlsProtocolError):
        make_request(b"x" * 256)


def test_frame_header_rules():
    with pytest.raises(AtlsProtocolError, match="invalid frame type 0"):
        parse_frame_header(b"\x00\x00\x00\x00\x01")
    # the HTTP/2 preface read as a frame (quirk 12)
    with pytest.raises(AtlsProtocolError, match="too large: 1380524074"):
        parse_frame_header(b"\x02" + b"PRI *"[1:])
    assert parse_frame_header(b"\x02" + MAX_FRAME_PAYLOAD.to_bytes(4, "big")) == (2, MAX_FRAME_PAYLOAD)
    with pytest.raises(AtlsProtocolError) as err:
        parse_frame_header(b"\x02\x00")
    assert err.value.code == "atls-truncated"


def test_frame_payload_must_be_complete_and_alone():
    frame = encode_frame(FRAME_AUTHENTICATOR, b"abc")
    with pytest.raises(AtlsProtocolError) as err:
        decode_frame(frame[:-1])
    assert err.value.code == "atls-truncated"
    with pytest.raises(AtlsProtocolError, match="follow the aTLS frame"):
        decode_frame(frame + b"x")
    with pytest.raises(AtlsProtocolError, match="expected aTLS frame type 1"):
        decode_frame(frame, FRAME_REQUEST)


def test_message_round_trips():
    entry = CertificateEntry(b"\x30\x03abc", (Extension(EXT_CMW_ATTESTATION, b"\x00\x01x"),))
    cert = Certificate(b"ctx", (entry, CertificateEntry(b"\x30\x01z")))
    assert parse_certificate(cert.encode()[4:]) == cert
    cv = CertificateVerify(0x0403, b"sig")
    auth = cert.encode() + cv.encode() + Finished(b"\x07" * 32).encode()
    parsed = parse_authenticator(auth, 32)
    assert parsed.certificate == cert and parsed.certificate_verify == cv
    assert parsed.finished.verify_data == b"\x07" * 32
    assert parsed.encode() == auth


def test_authenticator_shape_rules():
    s = make_session()
    with pytest.raises(AtlsRefused) as err:
        parse_authenticator(handshake_message(HS_FINISHED, b"\x00" * 32), 32)
    assert err.value.code == "atls-empty-authenticator"
    with pytest.raises(AtlsProtocolError, match="Finished message has 32 bytes"):
        parse_authenticator(s.authenticator, 48)
    with pytest.raises(AtlsProtocolError, match="unexpected bytes|truncated"):
        parse_authenticator(s.authenticator + b"\x00", 32)
    cert_only = s.authenticator[: 4 + int.from_bytes(s.authenticator[1:4], "big")]
    with pytest.raises(AtlsProtocolError, match=r"handshake messages \[11\]"):
        parse_authenticator(cert_only, 32)


def test_every_truncation_of_a_real_shaped_authenticator_is_a_typed_error():
    s = make_session()
    for cut in range(0, len(s.authenticator), 37):
        with pytest.raises((AtlsProtocolError, AtlsRefused)):
            parse_authenticator(s.authenticator[:cut], 32)


def test_duplicate_extensions_are_refused():
    dup = Extension(EXT_CMW_ATTESTATION, b"").encode() * 2
    with pytest.raises(AtlsProtocolError, match="appears twice"):
        parse_request(handshake_message(17, b"\x01a" + len(dup).to_bytes(2, "big") + dup))


def test_request_of_the_wrong_type_is_refused():
    with pytest.raises(AtlsProtocolError, match="bad authenticator request"):
        parse_request(handshake_message(11, SPEC_REQUEST[4:]))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_parsers_raise_only_typed_errors(data):
    for parse in (parse_request, lambda d: parse_authenticator(d, 32), decode_frame):
        try:
            parse(data)
        except (AtlsProtocolError, AtlsRefused):
            pass


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=255))
def test_fuzz_mutated_authenticators_raise_only_typed_errors(index, value):
    auth = make_session().authenticator
    index %= len(auth)
    mutated = auth[:index] + bytes((value,)) + auth[index + 1:]
    try:
        parse_authenticator(mutated, 32)
    except (AtlsProtocolError, AtlsRefused):
        pass
