"""VCEK/VLEK extensions, the certificate table, certificate loading and the serial-0 warning."""

from __future__ import annotations

import uuid
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning
from hypothesis import given, settings
from hypothesis import strategies as st

from core.attestation.snp.certs import (
    CertRole, SnpCertificateError, amd_extension_values, classify, load_certificate, load_certificate_files, parse_vek_extension_values,
    parse_vek_extensions, serial_number,
)
from core.attestation.snp.certtable import (
    GUID_ARK, GUID_ASK, GUID_VCEK, CertTableError, build_cert_table, parse_cert_table,
)
from core.attestation.snp.der import encode_integer, encode_tlv
from core.attestation.snp.tcb import Product
from core.errors import EvidenceError

from .synth import MILAN_TCB, vek_extensions


def test_milan_vcek_extensions_match_known_answers(snp_data):
    vcek = load_certificate_files(snp_data / "mstav_milan_v3_vcek" / "vcek.pem")[0]
    ext = parse_vek_extensions(vcek)
    assert (ext.bl_spl, ext.tee_spl, ext.snp_spl, ext.ucode_spl, ext.fmc_spl) == (4, 0, 24, 219, None)
    assert ext.product_name == "Milan-B0" and ext.product is Product.MILAN and len(ext.hw_id) == 64
    assert ext.tcb().raw.to_bytes(8, "little").hex() == "04000000000018db"


def test_turin_vcek_extensions(snp_data):
    vcek = load_certificate_files(snp_data / "virtee_sev_turin_vcek_only" / "vcek.der")[0]
    ext = parse_vek_extensions(vcek)
    assert ext.struct_version == 1 and ext.product is Product.TURIN
    assert ext.fmc_spl == 0 and ext.ucode_spl == 9 and len(ext.hw_id) == 8
    assert "3.4" not in amd_extension_values(vcek) and set(ext.reserved_spls) == {0}


def test_vlek_has_csp_id_and_no_hw_id(snp_data):
    vlek = load_certificate_files(snp_data / "trustee_aws_milan_v3_vlek" / "vlek.der")[0]
    ext = parse_vek_extensions(vlek)
    assert ext.csp_id == "CN=cc-us-east-2.amazonaws.com" and ext.hw_id is None
    assert classify(vlek) == (CertRole.VLEK, None)


def test_hw_id_raw_and_octet_string_both_parse(snp_data):
    base = snp_data / "trustee_vcek_parsing_fixtures"
    raw = parse_vek_extensions(load_certificate_files(base / "vcek_invalid_legacy_hwid_raw.der")[0])
    octet = parse_vek_extensions(load_certificate_files(base / "vcek_invalid_new_hwid_octetstring.der")[0])
    assert len(raw.hw_id) == 64 and len(octet.hw_id) == 64


def _values(**overrides):
    values = dict(vek_extensions(MILAN_TCB, product_name="Milan-B0", hw_id=bytes(64)))
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def test_ucode_spl_is_a_der_integer_not_the_last_byte():
    assert encode_integer(219) == bytes.fromhex("020200db")
    assert parse_vek_extension_values(_values()).ucode_spl == 219


@pytest.mark.parametrize(("overrides", "message"), [
    ({"3.1": None}, "lacks the blSPL"),
    ({"3.8": bytes.fromhex("020201ff")}, "outside 0-255"),
    ({"4": bytes(10)}, "hwID extension has 10 bytes"),
    ({"5": encode_tlv(0x16, b"CN=x")}, "both hwID and cspID"),
    ({"2": encode_tlv(0x0C, b"Milan")}, "expected DER tag 0x16"),
    ({"3.2": bytes.fromhex("0201")}, "claims 1 bytes"),
])
def test_malformed_extensions_are_rejected(overrides, message):
    with pytest.raises(EvidenceError, match=message) as info:
        parse_vek_extension_values(_values(**overrides))
    assert info.value.code in ("snp-certificate", "snp-der")


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["1", "2", "3.1", "3.2", "3.3", "3.8", "3.9", "4", "5"]),
                       st.binary(max_size=80)))
def test_fuzz_extension_parser_raises_only_evidence_errors(values):
    try:
        ext = parse_vek_extension_values(values)
    except EvidenceError:
        return
    assert 0 <= ext.ucode_spl <= 255


def test_cert_table_round_trip_uses_big_endian_guids():
    table = build_cert_table([(GUID_VCEK, b"vcek-der"), (GUID_ASK, b"ask"), (GUID_ARK, b"ark")])
    assert table[:16] == uuid.UUID("63da758d-e664-4564-adc5-f4b93be8accd").bytes
    entries = parse_cert_table(table)
    assert [(e.name, e.data) for e in entries] == [("VCEK", b"vcek-der"), ("ASK", b"ask"), ("ARK", b"ark")]


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda t: t[:20], "truncated"),
    (lambda t: t[:16] + (9999).to_bytes(4, "little") + t[20:], "outside the table"),
    (lambda t: t[:24] + t[:24] + t[48:], "twice"),
])
def test_cert_table_rejections(mutate, message):
    table = build_cert_table([(GUID_VCEK, b"v"), (GUID_ASK, b"a")])
    with pytest.raises(CertTableError, match=message):
        parse_cert_table(mutate(table))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_cert_table_raises_only_evidence_errors(data):
    try:
        entries = parse_cert_table(data)
    except EvidenceError:
        return
    assert all(e.offset + e.length <= len(data) for e in entries)


def test_garbage_is_not_a_certificate():
    with pytest.raises(SnpCertificateError, match="not a readable X.509"):
        load_certificate(b"\x30\x03\x02\x01\x00")
    with pytest.raises(SnpCertificateError, match="cannot read"):
        load_certificate_files("/nonexistent/vcek.der")


def test_serial_zero_is_still_only_a_warning(milan_vcek):
    """Fails loudly the day cryptography turns the serial-0 warning into an error: AMD's VCEKs
    and VLEKs all carry serial 0, so the app could no longer read any of them."""
    der = milan_vcek.public_bytes(serialization.Encoding.DER)
    with pytest.warns(CryptographyDeprecationWarning, match="serial number"):
        cert = x509.load_der_x509_certificate(der)
        assert cert.serial_number == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert serial_number(load_certificate(der)) == 0  # our loaders filter exactly that warning
