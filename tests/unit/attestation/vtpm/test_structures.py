"""TPM structures: exact layouts, round trips, typed rejections, and fuzzing."""

from __future__ import annotations

import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.attestation.vtpm.algorithms import TpmAlg
from core.attestation.vtpm.errors import TpmStructureError
from core.attestation.vtpm.public import AK_ATTRIBUTES
from core.attestation.vtpm.structures import (
    ATTEST_QUOTE, TPM_GENERATED, ClockInfo, PcrSelection, build_attest, build_ecc_public,
    build_pcr_selection, build_rsa_public, build_signature, parse_attest, parse_pcr_selection,
    parse_public, parse_signature, pcr_composite_digest,
)
from core.errors import EvidenceError

from .synth import ak_key

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_rsa_public_layout_matches_the_spec_table() -> None:
    key = ak_key()
    raw = build_rsa_public(key.public_key())
    # type, nameAlg, attributes, empty authPolicy, symmetric NULL, RSASSA/SHA-256, 2048 bits, exponent 0
    assert raw[:22] == struct.pack(">HHIHHHHHI", 0x0001, 0x000B, AK_ATTRIBUTES, 0, 0x0010, 0x0014, 0x000B,
                                   2048, 0)
    assert raw[22:24] == (256).to_bytes(2, "big") and len(raw) == 24 + 256
    pub = parse_public(raw)
    assert pub.rsa is not None and pub.rsa.public_exponent == 65537
    assert pub.is_restricted_signing_key and pub.scheme == TpmAlg.RSASSA and pub.scheme_hash == TpmAlg.SHA256
    assert pub.public_key().public_numbers() == key.public_key().public_numbers()
    assert pub.name() == b"\x00\x0b" + hashlib.sha256(raw).digest()


def test_rsa_public_with_explicit_exponent_and_policy() -> None:
    key = rsa.generate_private_key(public_exponent=3, key_size=1024)
    raw = build_rsa_public(key.public_key(), auth_policy=b"\xaa" * 32)
    pub = parse_public(raw)
    assert pub.auth_policy == b"\xaa" * 32 and pub.rsa.exponent == 3
    assert pub.public_key().public_numbers().e == 3


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()])
def test_ecc_public_round_trip(curve: ec.EllipticCurve) -> None:
    key = ec.generate_private_key(curve).public_key()
    pub = parse_public(build_ecc_public(key))
    assert pub.ecc is not None and pub.scheme == TpmAlg.ECDSA
    assert pub.public_key().public_numbers() == key.public_numbers()


def test_public_rejections_are_typed_and_say_why() -> None:
    raw = build_rsa_public(ak_key().public_key())
    with pytest.raises(TpmStructureError, match="truncated"):
        parse_public(raw[:-1])
    with pytest.raises(TpmStructureError, match="unexpected bytes"):
        parse_public(raw + b"\x00")
    with pytest.raises(TpmStructureError, match="not an RSA"):
        parse_public(b"\x00\x08" + raw[2:])  # KEYEDHASH
    bad_bits = raw[:16] + (1024).to_bytes(2, "big") + raw[18:]  # keyBits at offset 16
    with pytest.raises(TpmStructureError, match="keyBits"):
        parse_public(bad_bits)
    with pytest.raises(TpmStructureError) as info:
        parse_public(raw[:22] + b"\x00\x00")  # empty modulus: bits disagree
    assert info.value.code == "tpm-structure"


def test_zero_modulus_is_not_a_key() -> None:
    raw = build_rsa_public(ak_key().public_key())
    zero = raw[:24] + bytes(256)
    with pytest.raises(TpmStructureError, match="usable public key"):
        parse_public(zero).public_key()


def test_signature_round_trip_and_rejections() -> None:
    sig = parse_signature(build_signature(TpmAlg.RSASSA, TpmAlg.SHA256, signature=b"\x05" * 256))
    assert (sig.sig_alg, sig.hash_alg, sig.signature) == (TpmAlg.RSASSA, TpmAlg.SHA256, b"\x05" * 256)
    ecdsa = parse_signature(build_signature(TpmAlg.ECDSA, TpmAlg.SHA384, ecdsa_r=b"\x01" * 48, ecdsa_s=b"\x02" * 48))
    assert (ecdsa.ecdsa_r, ecdsa.ecdsa_s) == (b"\x01" * 48, b"\x02" * 48)
    assert parse_signature(b"\x00\x10").sig_alg == TpmAlg.NULL
    with pytest.raises(TpmStructureError, match="HMAC|hmac"):
        parse_signature(b"\x00\x05\x00\x0b")
    with pytest.raises(TpmStructureError, match="more than the 512"):
        parse_signature(b"\x00\x14\x00\x0b\x02\x01" + bytes(513))


def test_pcr_selection_bitmap_order() -> None:
    # bit i of byte j selects PCR 8j+i: PCRs 0, 7, 8, 16, 23 -> 0x81 0x01 0x81
    raw = build_pcr_selection([(TpmAlg.SHA256, [23, 0, 16, 8, 7])])
    assert raw == b"\x00\x00\x00\x01\x00\x0b\x03\x81\x01\x81"
    assert parse_pcr_selection(raw) == (PcrSelection(TpmAlg.SHA256, (0, 7, 8, 16, 23), 3),)
    with pytest.raises(TpmStructureError, match="banks"):
        parse_pcr_selection(b"\x00\x00\x01\x00")
    with pytest.raises(TpmStructureError, match="bitmap"):
        parse_pcr_selection(b"\x00\x00\x00\x01\x00\x0b\xff")


def test_quote_layout_round_trip() -> None:
    values = [bytes([i]) * 32 for i in range(3)]
    digest = pcr_composite_digest(values)
    raw = build_attest(extra_data=b"\x09" * 32, selections=[(TpmAlg.SHA256, [0, 1, 2])], pcr_digest=digest,
                       clock=ClockInfo(7, 2, 1, True), firmware_version=0x1122334455667788)
    assert raw[:6] == b"\xff\x54\x43\x47\x80\x18"
    att = parse_attest(raw)
    assert (att.magic, att.type, att.extra_data) == (TPM_GENERATED, ATTEST_QUOTE, b"\x09" * 32)
    assert att.clock_info == ClockInfo(7, 2, 1, True) and att.firmware_version == 0x1122334455667788
    assert att.quote.pcr_select == (PcrSelection(TpmAlg.SHA256, (0, 1, 2), 3),)
    assert att.quote.pcr_digest == hashlib.sha256(b"".join(values)).digest()
    assert att.is_tpm_generated


def test_non_quote_attest_keeps_header_only() -> None:
    raw = build_attest(extra_data=b"n", selections=[], pcr_digest=b"", att_type=0x8017)
    att = parse_attest(raw)
    assert att.type == 0x8017 and att.quote is None


def test_quote_rejections() -> None:
    raw = build_attest(extra_data=b"\x01" * 32, selections=[(TpmAlg.SHA256, range(24))], pcr_digest=bytes(32))
    with pytest.raises(TpmStructureError, match="truncated"):
        parse_attest(raw[:-5])
    with pytest.raises(TpmStructureError, match="unexpected bytes"):
        parse_attest(raw + b"\x00")
    with pytest.raises(TpmStructureError, match="extraData claims 65 bytes"):
        parse_attest(raw[:6] + b"\x00\x22" + bytes(34) + b"\x00\x41" + bytes(65))


QUOTE = build_attest(extra_data=b"\x01" * 32, selections=[(TpmAlg.SHA256, range(24))], pcr_digest=bytes(32))
PUBLIC = build_rsa_public(ak_key().public_key())
ECC_PUBLIC = build_ecc_public(ec.generate_private_key(ec.SECP256R1()).public_key())
SIG = build_signature(TpmAlg.RSASSA, TpmAlg.SHA256, signature=bytes(256))


def mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    @st.composite
    def mutate(draw) -> bytes:  # type: ignore[no-untyped-def]
        data = bytearray(seed)
        for _ in range(draw(st.integers(0, 4))):
            pos = draw(st.integers(0, len(data) - 1))
            data[pos] = draw(st.integers(0, 255))
        cut = draw(st.integers(0, len(data)))
        return bytes(data[:cut]) + draw(st.binary(max_size=6))
    return mutate()


def _only_typed(parse, data: bytes) -> None:  # type: ignore[no-untyped-def]
    try:
        result = parse(data)
    except TpmStructureError as exc:
        assert isinstance(exc, EvidenceError) and str(exc)
        return
    assert result is not None


@FUZZ
@given(st.one_of(mutations(QUOTE), st.binary(max_size=200)))
def test_fuzz_attest(data: bytes) -> None:
    _only_typed(parse_attest, data)


@FUZZ
@given(st.one_of(mutations(PUBLIC), mutations(ECC_PUBLIC), st.binary(max_size=300)))
def test_fuzz_public(data: bytes) -> None:
    def parse_and_load(raw: bytes) -> object:
        return parse_public(raw).public_key()
    _only_typed(parse_and_load, data)


@FUZZ
@given(st.one_of(mutations(SIG), st.binary(max_size=40)))
def test_fuzz_signature(data: bytes) -> None:
    _only_typed(parse_signature, data)
