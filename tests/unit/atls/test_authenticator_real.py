"""The verifier against the bytes captured from the real Cocos aTLS server (three sets).

Every set is a realistic relay: the authenticator, the binder and the EAT are genuine, but the
hardware evidence is a fixed sample report, so the binding check must refuse it.
"""

from __future__ import annotations

import json
import warnings

import pytest

from core.atls import SessionExporters, decode_frame, encode_frame, suite_hash, verify_authenticator
from core.atls.checks import BINDER, CERTIFICATE_VERIFY, CONTEXT, EAT_NONCE, FINISHED, REPORT_DATA_BINDING
from core.atls.cmw import encode_cmw_payload
from core.attestation.verdict import Status
from tests.conftest import shared_testdata
from tests.unit.atls.helpers import flip

SETS = ["snp_aes128", "snp_aes256_sha384", "tdx_jwt_aes128"]
HARDWARE = {"snp": ("attestation", "snp", "mstav_milan_v3_vcek", "report.bin"),
            "tdx": ("attestation", "tdx", "gotdx_spr_e4_v4", "quote.bin")}


def load(name: str):
    base = shared_testdata("cocos", "atls", name)
    t = json.loads((base / "transcript.json").read_text())
    ex = SessionExporters(
        suite_hash(t["cipher_suite"]),
        bytes.fromhex(t["exporter_server_authenticator_handshake_context_hex"]),
        bytes.fromhex(t["exporter_server_authenticator_finished_key_hex"]),
        bytes.fromhex(t["exporter_attestation_hex"]))
    files = {p.name: p.read_bytes() for p in base.iterdir() if p.suffix in (".bin", ".der", ".json")}
    return t, ex, files


def verify(files, ex, authenticator=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample VCEK has a serial the X.509 parser warns about
        return verify_authenticator(files["ea_request.bin"], authenticator or files["ea_authenticator.bin"],
                                    ex, tls_leaf_der=files["leaf.der"])


def status(result, check_id):
    return result.get(check_id).status


@pytest.mark.parametrize("name", SETS)
def test_real_set_is_genuine_but_refused_as_a_relay(name):
    t, ex, files = load(name)
    result = verify(files, ex)
    for check_id in (CONTEXT, CERTIFICATE_VERIFY, FINISHED, BINDER, EAT_NONCE):
        assert status(result, check_id) is Status.PASS, result.get(check_id)
    assert status(result, REPORT_DATA_BINDING) is Status.FAIL
    assert [c.id for c in result.verdict().failures()] == [REPORT_DATA_BINDING]
    assert not result.passed and not result.verdict().authentic
    assert result.binder.aik_pub_hash.hex() == t["expected_aik_pub_hash_hex"]
    assert result.binder.binding.hex() == t["expected_binding_hex"]
    assert result.expected_report_data.hex() == t["expected_report_data_hex"]
    assert result.get(REPORT_DATA_BINDING).expected == t["expected_report_data_hex"]
    assert result.expected_eat_nonce.hex() == t["expected_eat_nonce_hex"]
    assert result.leaf_der == files["leaf.der"]


@pytest.mark.parametrize("name", SETS)
def test_real_set_evidence_is_the_documented_hardware_report(name):
    t, ex, files = load(name)
    result = verify(files, ex)
    eat = result.eat
    assert eat.nonce.hex() == t["expected_eat_nonce_hex"]
    assert eat.raw == files["eat_evidence.bin"]
    assert eat.form == ("jwt" if name.startswith("tdx") else "cose")
    platform = "tdx" if name.startswith("tdx") else "snp"
    reference = shared_testdata(*HARDWARE[platform]).read_bytes()
    assert result.hardware.platform == platform
    if platform == "tdx":
        assert eat.raw_report == reference
    else:
        assert result.hardware.evidence == reference  # rebuilt from the sevsnp.Attestation protobuf
    assert result.get(REPORT_DATA_BINDING).actual == result.hardware.report_data.hex()


@pytest.mark.parametrize("name", SETS)
def test_real_cmw_payload_matches_our_encoder_byte_for_byte(name):
    _, ex, files = load(name)
    result = verify(files, ex)
    cmw = result.cmw
    assert encode_cmw_payload(cmw.evidence, cmw.aik_pub_hash, cmw.binding) == files["cmw_payload.json"]
    assert cmw.evidence == files["eat_evidence.bin"]


def test_real_frames_round_trip():
    _, _, files = load("snp_aes128")
    for frame_type, payload in ((1, files["ea_request.bin"]), (2, files["ea_authenticator.bin"])):
        assert decode_frame(encode_frame(frame_type, payload), frame_type) == payload


def _offsets(files, ex):
    auth = files["ea_authenticator.bin"]
    cert_len = 4 + int.from_bytes(auth[1:4], "big")
    leaf_at = auth.index(files["leaf.der"])
    eat_text = auth.index(b'"evidence":"') + len(b'"evidence":"')
    return {"cv": len(auth) - 4 - ex.hash.length - 5, "finished": len(auth) - 1,
            "leaf_signature": leaf_at + len(files["leaf.der"]) - 3, "eat": eat_text + 400,
            "cert_len": cert_len}


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("part,fails", [
    ("cv", {CERTIFICATE_VERIFY, FINISHED}),
    ("finished", {FINISHED}),
    ("leaf_signature", {CERTIFICATE_VERIFY, FINISHED}),
    ("eat", {CERTIFICATE_VERIFY, FINISHED}),
])
def test_real_flipped_bytes_fail_the_right_checks(name, part, fails):
    _, ex, files = load(name)
    auth = flip(files["ea_authenticator.bin"], _offsets(files, ex)[part])
    failures = {c.id for c in verify(files, ex, auth).verdict().failures()}
    assert fails <= failures
    assert BINDER not in failures  # the binder itself was not touched
    if part in ("cv", "finished"):
        assert failures == fails | {REPORT_DATA_BINDING}


@pytest.mark.parametrize("name", SETS)
def test_real_set_with_another_sessions_exporter_fails_binder_and_nonce(name):
    _, ex, files = load(name)
    other = SessionExporters(ex.hash, ex.handshake_context, ex.finished_key, bytes(32))
    failures = {c.id for c in verify(files, other).verdict().failures()}
    assert failures == {BINDER, EAT_NONCE, REPORT_DATA_BINDING}
