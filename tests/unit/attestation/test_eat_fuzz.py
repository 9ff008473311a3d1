"""Fuzz the EAT decoder and the raw_report routing: only our typed errors may escape."""

from __future__ import annotations

import base64
import json

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from core.attestation.eat import decode_eat
from core.attestation.eat_encode import encode_eat_cose, encode_eat_jwt
from core.attestation.eat_report import hardware_report
from core.attestation.eat_wrappers import encode_sevsnp_attestation, parse_tpm_attestation
from core.errors import EvidenceError
from tests.unit.atls.helpers import eat_claims, snp_report

KEY = ec.generate_private_key(ec.SECP256R1())
RAW = encode_sevsnp_attestation(snp_report(b"\x01" * 64), product=1)
COSE = encode_eat_cose(eat_claims(b"\x02" * 32, "SNP", RAW), KEY)
JWT = encode_eat_jwt(eat_claims(b"\x02" * 32, "SNP", RAW), KEY)

cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.binary(max_size=40)
    | st.text(max_size=20) | st.floats(allow_nan=False),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.integers(-5, 300) | st.text(max_size=12), children, max_size=5),
    max_leaves=25)


def decode_quietly(data: bytes) -> None:
    try:
        eat = decode_eat(data)
    except EvidenceError:
        return
    try:
        hardware_report(eat.platform_type, eat.raw_report)
    except EvidenceError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes(data):
    decode_quietly(data)
    decode_quietly(b"\xd2" + data)


@settings(max_examples=300, deadline=None)
@given(cbor_values)
def test_random_cbor_claims_and_envelopes(value):
    decode_quietly(cbor2.dumps(value))
    decode_quietly(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {}, cbor2.dumps(value), b"s"])))
    decode_quietly(cbor2.dumps({10: b"n" * 32, "platform_type": "SNP", "raw_report": cbor2.dumps(value)}))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=255),
       st.sampled_from([COSE, JWT]))
def test_mutated_tokens(index, value, token):
    index %= len(token)
    decode_quietly(token[:index] + bytes((value,)) + token[index + 1:])
    decode_quietly(token[:index])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.none() | st.integers() | st.text(max_size=30)
                       | st.lists(st.integers(), max_size=3), max_size=6))
def test_random_jwt_claims(claims):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=")
    decode_quietly(part({"alg": "ES256"}) + b"." + part(claims) + b".AAAA")
    decode_quietly(part({"alg": "ES256"}) + b"." + part({**claims, "eat_nonce": "AAAA", "platform_type": "SNP"})
                   + b".AAAA")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["SNP", "SNP-vTPM", "TDX", "vTPM"]))
def test_random_raw_reports(raw, platform):
    try:
        hardware_report(platform, raw)
    except EvidenceError:
        pass
    try:
        parse_tpm_attestation(raw)
    except EvidenceError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=255))
def test_mutated_snp_protobuf(index, value):
    index %= len(RAW)
    try:
        hardware_report("SNP", RAW[:index] + bytes((value,)) + RAW[index + 1:])
    except EvidenceError:
        pass


def test_huge_declared_lengths_fail_fast():
    for data in (b"\xd2\x84\x5b" + b"\xff" * 8, b"\x5b\x00\x00\x10\x00\x00\x00\x00\x00",
                 b"\xbb\x00\x00\x10\x00\x00\x00\x00\x00", b"\x0a\xff\xff\xff\xff\x0f"):
        try:
            decode_eat(data)
        except EvidenceError as exc:
            assert exc.code == "bad-eat"
        else:
            raise AssertionError("a truncated huge item decoded")
