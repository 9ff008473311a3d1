"""Collateral parsing: exact signed bytes, strict JSON, loaders; PCK extension and pinned root."""

from __future__ import annotations

import json

import pytest

from core.attestation.tdx.collateral import (
    TdxCollateral,
    load_collateral_dir,
    parse_crl,
    parse_qe_identity,
    parse_tcb_info,
)
from core.attestation.tdx.errors import TdxEvidenceError
from core.attestation.tdx.pck import load_pem_chain, parse_sgx_extension, pck_extensions
from core.attestation.tdx.roots import INTEL_SGX_ROOT_CA_SHA256, TdxTrust, fingerprint, intel_sgx_root

from .corpus import tdx_dir
from .synth import FMSPC, PCK_SVNS, default_pki, make_qe_identity, make_tcb_info, sgx_extension_der


def test_signed_body_is_the_exact_served_substring() -> None:
    doc = make_tcb_info()
    signed = parse_tcb_info(doc)
    assert doc.index(signed.body) == len(b'{"tcbInfo": ')
    assert b", " in signed.body  # served spacing kept, not re-serialised
    assert signed.tcb_info.fmspc == FMSPC and len(signed.tcb_info.tcb_levels) == 2


def test_real_tcb_info_body_bytes_match_the_collateral_string() -> None:
    folder = tdx_dir("phala_tdx_v4_b0c06f_uptodate")
    served = json.loads((folder / "collateral.json").read_text())["tcb_info"].encode()
    assert parse_tcb_info((folder / "tcbInfo.json").read_bytes()).body == served


@pytest.mark.parametrize(("doc", "fragment"), [
    (b"", "not an object"),
    (b"[]", "not an object"),
    (b'{"tcbInfo": {}}', "needs both"),
    (b'{"tcbInfo": {}, "signature": "00"}', "128 hex"),
    (b'{"tcbInfo": {}, "tcbInfo": {}, "signature": "' + b"00" * 64 + b'"}', "repeated"),
    (b'{"tcbInfo": {}, "signature": "' + b"00" * 64 + b'"} x', "extra data"),
    (b'{"tcbInfo": {"id": "SGX", "version": 3}, "signature": "' + b"00" * 64 + b'"}', "expected 'TDX'/3"),
    (b'\xff{}', "not UTF-8"),
])
def test_malformed_tcb_info_rejected(doc: bytes, fragment: str) -> None:
    with pytest.raises(TdxEvidenceError) as info:
        parse_tcb_info(doc)
    assert fragment in str(info.value) and info.value.code == "tdx-bad-collateral"


def test_tcb_info_field_errors_name_the_path() -> None:
    doc = make_tcb_info().replace(b'"pcesvn": 11', b'"pcesvn": "eleven"', 1)
    with pytest.raises(TdxEvidenceError, match=r"tcbInfo.tcbLevels\[0\].tcb.pcesvn"):
        parse_tcb_info(doc)
    doc = make_tcb_info().replace(b'"tcbStatus": "UpToDate"', b'"tcbStatus": "Great"', 1)
    with pytest.raises(TdxEvidenceError, match="unknown status"):
        parse_tcb_info(doc)


def test_qe_identity_parse() -> None:
    signed = parse_qe_identity(make_qe_identity())
    assert signed.qe_identity.isvprodid == 2 and signed.qe_identity.tcb_levels[0].isv_svn == 4
    with pytest.raises(TdxEvidenceError, match="TD_QE"):
        parse_qe_identity(make_qe_identity().replace(b'"TD_QE"', b'"QE"'))


def test_loader_reads_a_set_folder_and_merges() -> None:
    own = load_collateral_dir(tdx_dir("phala_tdx_v4_b0c06f_uptodate"))
    assert own.tcb_info and own.qe_identity and own.pck_crl is not None and own.root_crl is not None
    assert len(own.tcb_info_issuer_chain) == 2 and len(own.pck_crl_issuer_chain) == 2
    shared = load_collateral_dir(tdx_dir("collateral_2025"), fmspc="B0C06F000000")
    assert shared.tcb_info is not None and shared.tcb_info.tcb_info.fmspc.hex() == "b0c06f000000"
    assert shared.pck_crl is None
    merged = shared.merged_with(own)
    assert merged.tcb_info is shared.tcb_info and merged.pck_crl is own.pck_crl


def test_loader_missing_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TdxEvidenceError):
        load_collateral_dir(tmp_path / "absent")
    assert load_collateral_dir(tmp_path) == TdxCollateral()


def test_bad_crl_rejected() -> None:
    with pytest.raises(TdxEvidenceError) as info:
        parse_crl(b"\x30\x03\x02\x01\x00", "PCK CRL")
    assert info.value.code == "tdx-bad-crl"


def test_pck_extension_from_synthetic_certificate() -> None:
    ext = pck_extensions(default_pki().pck)
    assert ext.fmspc == FMSPC and ext.pce_id == b"\0\0" and ext.tcb.sgx_tcb_components == PCK_SVNS
    assert ext.tcb.pce_svn == 11 and ext.sgx_type == 1 and ext.configuration.smt_enabled is True  # type: ignore[union-attr]


def test_pck_extension_of_real_certificate() -> None:
    from core.attestation.tdx.quote import parse_quote
    quote = parse_quote((tdx_dir("trustee_tdx_v4_gnr_00a06d_outofdate") / "quote.bin").read_bytes())
    ext = pck_extensions(load_pem_chain(quote.auth_data.qe_certification.pck_chain_pem)[0])
    assert ext.fmspc.hex() == "00a06d080000" and ext.tcb.pce_svn == 11 and len(ext.ppid) == 16


@pytest.mark.parametrize("der", [
    b"", b"\x30", b"\x30\x80\x00\x00", b"\x31\x00", b"\x30\x00",
    sgx_extension_der()[:-1], sgx_extension_der() + b"\x00", sgx_extension_der(fmspc=b"\x01" * 5),
])
def test_malformed_pck_extension(der: bytes) -> None:
    with pytest.raises(TdxEvidenceError):
        parse_sgx_extension(der)


def test_certificate_without_sgx_extension() -> None:
    with pytest.raises(TdxEvidenceError, match="no SGX extension"):
        pck_extensions(default_pki().ca)


def test_bad_pem_chain() -> None:
    with pytest.raises(TdxEvidenceError):
        load_pem_chain(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(TdxEvidenceError):
        load_pem_chain(b"\x00")


def test_pinned_intel_root() -> None:
    root = intel_sgx_root()
    assert fingerprint(root) == INTEL_SGX_ROOT_CA_SHA256
    assert root.subject.rfc4514_string() == "C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX Root CA"
    trust = TdxTrust.intel()
    assert trust.anchor_for(root) is not None and trust.anchor_for(default_pki().root) is None
    assert trust.anchors[0].is_intel and root.not_valid_after_utc.year == 2049


def test_pinned_root_equals_the_corpus_copy() -> None:
    shipped = (tdx_dir("intel_root") / "Intel_SGX_Root_CA.der").read_bytes()
    assert TdxTrust.intel().anchors[0].der == shipped
