"""Binder, REPORT_DATA and nonce derivations (§12.5 test vector), suites, the cmw payload."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from core.atls import SessionExporters, derive_exporters, suite_hash
from core.atls.binding import compute_binder, eat_nonce, expected_report_data, report_data
from core.atls.cmw import encode_cmw_payload, parse_cmw_payload, unwrap_extension, wrap_extension
from core.atls.errors import AtlsProtocolError
from core.atls.spki import raw_spki
from core.atls.suites import LABEL_ATTESTATION, LABEL_FINISHED_KEY, LABEL_HANDSHAKE_CONTEXT
from tests.unit.atls.helpers import leaf_der, leaf_key

SPKI = bytes.fromhex(
    "3059301306072a8648ce3d020106082a8648ce3d03010703420004ea982406aedd8bd4927bb3ef3014526301a745f0"
    "892825938ac2deed2756999a38f95bdd1e57a84d067125e9ec5d1dddb6ff04a4e00ff4aba880976de9eeb229")
EXPORTED = b"\xaa" * 32


def test_spec_leaf_key_gives_the_spec_spki():
    scalar = int.from_bytes(hashlib.sha256(b"cocos-atls-test-key").digest(), "big")
    key = ec.derive_private_key(scalar, ec.SECP256R1())
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    assert spki == SPKI


def test_sha256_vector():
    binder = compute_binder(SPKI, EXPORTED, suite_hash("TLS_AES_128_GCM_SHA256"))
    assert binder.aik_pub_hash.hex() == "1bcc8566bab335632a8aae2e81f393504be3cd1534471911a84204bebce96f43"
    assert base64.b64encode(binder.binding) == b"EIhjlHaiNN1spBWWBTxGRaILcHd3C6jHMSuYjjs/IxY="
    assert report_data(binder.binding).hex() == (
        "8ff4669d360426ddfa4d06311ba2c4d4798d5cf80b04d8ff7dc57e5c2330d1c8f4feaf110265a045b7d8dcfcd72c8d45"
        "b01ec6f88464ee401c9f247bdd6588c7")
    assert eat_nonce(EXPORTED).hex() == "e0e77a507412b120f6ede61f62295b1a7b2ff19d3dcc8f7253e51663470c888e"
    assert expected_report_data("snp-vtpm", binder.binding, b"\x01" * 8).hex() == (
        "a4af46b70838015cb68ba73e0f87257a345943d793437ab4809a06d019628198da4ead4469f3f5f4c4bfa784396d72"
        "1f1afc2be155262d1edad5ab2411d5fb7d")


def test_sha384_vector():
    binder = compute_binder(SPKI, EXPORTED, suite_hash(0x1302))
    assert binder.aik_pub_hash.hex() == (
        "e5ce6a618d29f044143b9b21aee3e9a4b3a5695d760d36b6c72246615108aa41403585226e88a50920edf131973a9cff")
    assert binder.binding.hex() == (
        "225ab391cb4ad2e91e200514a6505f869adca7686491897682028a814aa7c8a64ef3f4d9f4dd1092480c3162e61fa558")
    assert expected_report_data("tdx", binder.binding).hex() == (
        "a5e6ce44e7dece6d92790e14f0e6cf56624ee909b8ced852b3e9192f361c667adf176600373d2d3eb241f9f2091194a2"
        "55bd72246b158451afc19b279bb50abc")


@pytest.mark.parametrize("suite,name", [("TLS_AES_128_GCM_SHA256", "sha256"), (0x1303, "sha256"),
                                        ("TLS_AES_256_GCM_SHA384", "sha384"), ("sha384", "sha384")])
def test_suite_hash(suite, name):
    assert suite_hash(suite).name == name


def test_unknown_suite_is_refused_with_its_code():
    with pytest.raises(AtlsProtocolError, match="ea: unknown cipher suite") as err:
        suite_hash("TLS_AES_128_CCM_SHA256")
    assert err.value.code == "atls-cipher-suite"


def test_exporter_lengths_are_checked():
    with pytest.raises(AtlsProtocolError) as err:
        SessionExporters(suite_hash("sha384"), b"\x00" * 32, b"\x00" * 48, b"\x00" * 32)
    assert err.value.code == "atls-exporter"


def test_derive_exporters_asks_the_session_like_pyopenssl():
    calls = []

    def export(label, length, context):
        calls.append((label, length, context))
        return bytes([len(calls)]) * length

    ex = derive_exporters(export, suite_hash("sha384"), b"ctx")
    assert calls == [(LABEL_HANDSHAKE_CONTEXT, 48, None), (LABEL_FINISHED_KEY, 48, None),
                     (LABEL_ATTESTATION, 32, b"ctx")]
    assert ex.attestation == b"\x03" * 32


def test_raw_spki_matches_the_certificate_key():
    der = leaf_der()
    expected = leaf_key().public_key().public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    assert raw_spki(der) == expected
    with pytest.raises(AtlsProtocolError) as err:
        raw_spki(der[:40])
    assert err.value.code == "atls-certificate"


def test_cmw_payload_round_trip_and_extension_length():
    payload = encode_cmw_payload(b"eat", b"h" * 32, b"b" * 32)
    assert payload.startswith(b'{"version":1,"media_type":"application/eat+cwt","evidence":"ZWF0",'
                              b'"binder":{"exporter_label":"Attestation","aik_pub_hash":')
    parsed = parse_cmw_payload(unwrap_extension(wrap_extension(payload)))
    assert (parsed.version, parsed.evidence, parsed.binding) == (1, b"eat", b"b" * 32)
    with pytest.raises(AtlsProtocolError, match="inner length is inconsistent"):
        unwrap_extension(wrap_extension(payload) + b"x")
    with pytest.raises(AtlsProtocolError):
        unwrap_extension(b"\x00\x00")


@pytest.mark.parametrize("text,reason", [
    (b'{"version":1,"evidence":"ZWF0"}', "missing attestation binder"),
    (b'{"version":1,"binder":{"aik_pub_hash":"AA==","binding":"AA=="}}', "missing evidence"),
    (b'{"version":1,"evidence":"ZWF0","binder":{"aik_pub_hash":"AA=="}}', "missing binding"),
    (b'{"version":1,"evidence":"*","binder":{"aik_pub_hash":"AA==","binding":"AA=="}}', "not valid base64"),
    (b'{"version":"1","evidence":"ZWF0","binder":{}}', "integer version"),
    (b"[1]", "not a JSON object"),
    (b"\xff", "not valid JSON"),
])
def test_cmw_payload_errors(text, reason):
    with pytest.raises(AtlsProtocolError, match=reason) as err:
        parse_cmw_payload(text)
    assert err.value.code == "atls-cmw"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzz_cmw_payload_raises_only_typed_errors(data):
    try:
        parse_cmw_payload(data)
    except AtlsProtocolError:
        pass
