"""EAT decoding (COSE_Sign1 and JWT), its signature, and the routing of raw_report (§1.1-§1.4)."""

from __future__ import annotations

import json
import warnings

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from core.attestation.eat import EatError, EatKeyError, decode_eat, verify_eat_signature
from core.attestation.eat_encode import encode_eat_cose, encode_eat_jwt
from core.attestation.eat_report import UnsupportedEvidence, hardware_report
from core.attestation.eat_wrappers import (
    encode_sevsnp_attestation, encode_tpm_attestation, parse_sevsnp_attestation, rebuild_report,
)
from core.attestation.snp.report import SnpReportError
from tests.conftest import shared_testdata
from tests.unit.atls.helpers import AK_PUB, eat_claims, snp_report

KEY = ec.generate_private_key(ec.SECP256R1())
NONCE = bytes(range(32))


def claims(platform="SNP", raw=None):
    return eat_claims(NONCE, platform, raw if raw is not None else encode_sevsnp_attestation(
        snp_report(b"\x07" * 64), product=1))


def real(*parts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return shared_testdata(*parts).read_bytes()


# --- own tokens ----------------------------------------------------------------------------

@pytest.mark.parametrize("tagged", [True, False])
def test_cose_round_trip_and_signature(tagged):
    token = encode_eat_cose(claims(), KEY, tagged=tagged)
    eat = decode_eat(token)
    assert (eat.form, eat.algorithm, dict(eat.protected_header)) == ("cose", "ES256", {1: -7})
    assert eat.key_id == b"cocos-attestation-service" and eat.issuer == "cocos-attestation-service"
    assert (eat.nonce, eat.platform_type, eat.iat, eat.exp) == (NONCE, "SNP", 1_795_552_562, 1_795_552_862)
    assert eat.claims.oemid == 3704 and eat.claims.hwmodel == b"SEV-SNP-3" and eat.claims.dbgstat == 2
    assert eat.signed_bytes == cbor2.dumps(["Signature1", cbor2.dumps({1: -7}), b"",
                                            (cbor2.loads(token).value if tagged else cbor2.loads(token))[2]])
    assert verify_eat_signature(eat, KEY.public_key())
    assert not verify_eat_signature(eat, ec.generate_private_key(ec.SECP256R1()).public_key())


def test_jwt_round_trip_and_signature():
    token = encode_eat_jwt(claims(), KEY)
    eat = decode_eat(token)
    assert (eat.form, eat.algorithm, eat.protected_header["typ"]) == ("jwt", "ES256", "JWT")
    assert eat.nonce == NONCE and eat.claims.measurements == b"\x5f" * 48
    assert eat.claims.all["eat_nonce_hex"] == NONCE.hex()
    assert eat.signed_bytes == token.rsplit(b".", 1)[0]
    assert verify_eat_signature(eat, KEY.public_key())
    tampered = decode_eat(token[:-4] + (b"AAAA" if token[-4:] != b"AAAA" else b"BBBA"))
    assert not verify_eat_signature(tampered, KEY.public_key())


def test_signature_key_type_mismatch_is_a_typed_error():
    eat = decode_eat(encode_eat_cose(claims(), KEY))
    with pytest.raises(EatKeyError):
        verify_eat_signature(eat, ed25519.Ed25519PrivateKey.generate().public_key())
    with pytest.raises(EatKeyError, match="no signature|nothing to check"):
        verify_eat_signature(decode_eat(cbor2.dumps({10: NONCE, "platform_type": "SNP"})), KEY.public_key())


def test_plain_cbor_claims_fallback():
    eat = decode_eat(cbor2.dumps({10: NONCE, "platform_type": "TDX", "raw_report": b"q"}))
    assert (eat.form, eat.platform_type, eat.raw_report, eat.algorithm) == ("cbor", "TDX", b"q", "")


@pytest.mark.parametrize("token,reason", [
    (b"", "empty"),
    (b"\xd2\x84\x43", "not valid CBOR"),
    (cbor2.dumps(cbor2.CBORTag(17, [b"", {}, b"", b""])), "tag 17"),
    (cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b""])), "four items"),
    (cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({}), {}, cbor2.dumps({}), b""])), "no signing algorithm"),
    (cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -999}), {}, cbor2.dumps({}), b""])), "-999"),
    (cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {}, cbor2.dumps([1]), b""])), "not a map"),
    (cbor2.dumps({"platform_type": "SNP"}), "no eat_nonce"),
    (cbor2.dumps({10: NONCE}), "no platform_type"),
    (cbor2.dumps({10: "text", "platform_type": "SNP"}), "should hold bytes"),
    (cbor2.dumps({10: NONCE, "platform_type": "SNP", 6: "now"}), "should be an integer"),
    (b"a.b", "three dot-separated parts"),
    (b"eyJhbGciOiJFUzI1NiJ9.e30.!!", "not valid base64url"),
    (b"e30.e30.", "no usable signing algorithm"),
    (b"eyJhbGciOiJFUzI1NiJ9.W10.", "not a map of claims"),
    (b"eyJhbGciOiJFUzI1NiJ9.eyJlYXRfbm9uY2UiOiIqIiwicGxhdGZvcm1fdHlwZSI6IlNOUCJ9.", "standard base64"),
    (b"\x81" * 100_000, "nested too deeply|not valid CBOR"),
    (cbor2.dumps({10: NONCE, "platform_type": "SNP"}) + b"\x00", "1 bytes follow"),
])
def test_malformed_tokens_raise_eat_errors(token, reason):
    with pytest.raises(EatError, match=reason) as err:
        decode_eat(token)
    assert err.value.code == "bad-eat"


# --- raw_report routing ----------------------------------------------------------------------

def test_snp_protobuf_rebuilds_the_report_and_round_trips():
    report = snp_report(b"\x07" * 64)
    attestation = parse_sevsnp_attestation(encode_sevsnp_attestation(report, vcek=b"v", ask=b"a", product=2))
    assert attestation.report == report and attestation.product_name == "Genoa"
    assert (attestation.vcek_cert, attestation.ask_cert) == (b"v", b"a")
    hw = hardware_report("SNP", encode_sevsnp_attestation(report))
    assert (hw.platform, hw.report_data, hw.snp_report.vmpl) == ("snp", b"\x07" * 64, 2)


def test_snp_raw_report_without_protobuf_is_accepted():
    report = snp_report(b"\x09" * 64)
    assert hardware_report("SNP", report).evidence == report


def test_snp_vtpm_routes_through_attest_attestation():
    snp = encode_sevsnp_attestation(snp_report(b"\x05" * 64))
    hw = hardware_report("SNP-vTPM", encode_tpm_attestation(AK_PUB, snp))
    assert (hw.platform, hw.ak_pub, hw.report_data) == ("snp-vtpm", AK_PUB, b"\x05" * 64)
    with pytest.raises(UnsupportedEvidence, match="no SNP attestation"):
        hardware_report("SNP-vTPM", encode_tpm_attestation(AK_PUB))


@pytest.mark.parametrize("platform,raw,error", [
    ("vTPM", b"x", UnsupportedEvidence), ("NoCC", b"", UnsupportedEvidence),
    ("SNP", b"", UnsupportedEvidence), ("TDX", b'{"quote": ""}', UnsupportedEvidence),
    ("SNP", b"\x0a\x02\x08\x02", EatError.__mro__[1]),  # EvidenceError: rebuilt report malformed
])
def test_unroutable_evidence_raises_typed_errors(platform, raw, error):
    with pytest.raises(error):
        hardware_report(platform, raw)


def test_wrong_report_field_sizes_are_refused():
    from core.attestation.eat_proto import ProtobufError, encode_bytes_field
    with pytest.raises(ProtobufError, match="report_data has 3 bytes"):
        rebuild_report(encode_bytes_field(11, b"abc") + encode_bytes_field(28, bytes(512)))
    with pytest.raises(ProtobufError, match="signature has 0 bytes"):
        rebuild_report(b"\x08\x02")
    bad = bytearray(snp_report(b"\x00" * 64))
    bad[0x34] = 2  # unknown signature algorithm: the SNP parser's own rule
    with pytest.raises(SnpReportError, match="signature algorithm 2"):
        hardware_report("SNP", encode_sevsnp_attestation(bytes(bad)))


# --- captured tokens -------------------------------------------------------------------------

@pytest.mark.parametrize("name,form", [("snp_aes128", "cose"), ("snp_aes256_sha384", "cose"),
                                       ("tdx_jwt_aes128", "jwt")])
def test_real_eat_decodes_with_the_documented_nonce(name, form):
    t = json.loads(real("cocos", "atls", name, "transcript.json"))
    eat = decode_eat(real("cocos", "atls", name, "eat_evidence.bin"))
    assert eat.form == form and eat.algorithm == "ES256"
    assert eat.nonce.hex() == t["expected_eat_nonce_hex"]
    assert eat.issuer == "cocos-attestation-service" and eat.exp - eat.iat == 300
    assert eat.platform_type == ("TDX" if form == "jwt" else "SNP")


def test_real_snp_raw_report_rebuilds_the_milan_report():
    eat = decode_eat(real("cocos", "atls", "snp_aes128", "eat_evidence.bin"))
    hw = hardware_report(eat.platform_type, eat.raw_report)
    assert hw.evidence == real("attestation", "snp", "mstav_milan_v3_vcek", "report.bin")
    assert hw.snp_attestation.product_name == "Milan"
    assert eat.measurements == hw.snp_report.measurement


def test_real_tdx_raw_report_is_the_quote():
    eat = decode_eat(real("cocos", "atls", "tdx_jwt_aes128", "eat_evidence.bin"))
    assert eat.raw_report == real("attestation", "tdx", "gotdx_spr_e4_v4", "quote.bin")
    assert hardware_report("TDX", eat.raw_report).report_data == eat.raw_report[48 + 520:48 + 584]


@pytest.mark.parametrize("name,platform", [("snp_aes128", "SNP"), ("tdx_jwt_aes128", "TDX")])
def test_attestation_rpc_response_decodes(name, platform):
    t = json.loads(real("cocos", "atls", name, "transcript.json"))
    eat = decode_eat(real("cocos", "atls", name, "attestation_rpc_response.bin"))
    assert eat.platform_type == platform
    assert eat.nonce.hex() == t["attestation_rpc"]["vtpmNonce_hex"]
    hw = hardware_report(eat.platform_type, eat.raw_report)
    assert hw.report_data != bytes.fromhex(t["attestation_rpc"]["teeNonce_hex"])  # fixed sample report
