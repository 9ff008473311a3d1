"""Report parsing: the field table, known-answer values (§2.11), format rejections, fuzzing."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.attestation.snp.bits import SigningKey
from core.attestation.snp.fields import FIELDS, REPORT_SIZE, field_at
from core.attestation.snp.report import SnpReportError, parse_report
from core.attestation.snp.tcb import Product, TcbVersion, product_from_cpuid
from core.errors import EvidenceError

from .synth import MILAN_TCB, TURIN_TCB, build_report, sign_report

KNOWN = {  # set: (sha256, version, policy, vmpl, signer, reported tcb LE hex, cpuid, platform info, product)
    "mstav_milan_v3_vcek": ("e75e8d4efa81c2ce16e982419ca82cb042b5feca3ef82dfc48dda06926d9ece1", 3, 0x3001F, 0,
                            SigningKey.VCEK, "04000000000018db", (0x19, 0x01, 0x01), 0x25, Product.MILAN),
    "mstav_genoa_v3_vcek": ("4ae0e73ab3a0e461bedf193795f0d90646a59d3617c0571cac0b0bfeb0ee908f", 3, 0x3001F, 0,
                            SigningKey.VCEK, "0a00000000001754", (0x19, 0x11, 0x01), 0x27, Product.GENOA),
    "mstav_turin_v5_vcek": ("85da705e19cdc2b8e4551f069de88685dba92d8961b59e4a17149bb35b606556", 5, 0x3001F, 0,
                            SigningKey.VCEK, "0101010400000051", (0x1A, 0x02, 0x01), 0x65, Product.TURIN),
    "gosevguest_milan_v2_vcek": ("377e6241d3b373ab1df80c0f96978594e7e21f4797dd6ea95e2957e1c1e26060", 2, 0xB0000,
                                 0, SigningKey.VCEK, "0200000000000544", None, 0x1, None),
    "trustee_milan_v2_vcek": ("7c614616feb65823351fa42620ea260fb84fd22b2337a480ca0d5f04f363ca38", 2, 0x3001F, 0,
                              SigningKey.VCEK, "0300000000000873", None, 0x1, None),
    "trustee_aws_milan_v3_vlek": ("decdab949afc590668e45869b20f23e4afc7ac03c61201ab20208c6668a58a2d", 3, 0x30000,
                                  1, SigningKey.VLEK, "04000000000018d9", (0x19, 0x01, 0x01), 0x27, Product.MILAN),
    "teekit_gcp_milan_v5_x25519_bound": ("19a94fdb834da30eb1901e37ef52547ef2bed76adeb7c91fd0a7ad4f816c19ba", 5,
                                         0x30000, 1, SigningKey.VCEK, "0400000000001bde", (0x19, 0x01, 0x01),
                                         0x25, Product.MILAN),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_answer_fields(snp_data, name):
    raw = (snp_data / name / "report.bin").read_bytes()
    sha, version, policy, vmpl, signer, tcb_hex, cpuid, pinfo, product = KNOWN[name]
    assert hashlib.sha256(raw).hexdigest() == sha
    r = parse_report(raw)
    assert (r.version, r.policy.raw, r.vmpl, r.signer_info.signing_key) == (version, policy, vmpl, signer)
    assert r.reported_tcb.raw.to_bytes(8, "little").hex() == tcb_hex
    assert r.platform_info.raw == pinfo and r.product is product
    assert (r.cpuid_fam_id, r.cpuid_mod_id, r.cpuid_step) == (cpuid or (None, None, None))
    assert r.signed_bytes == raw[:0x2A0] and len(r.signed_bytes) == 672
    assert r.signature_r == int.from_bytes(raw[0x2A0:0x2E8], "little")


def test_known_answer_decoded_tcbs_and_bits(snp_data):
    milan = parse_report((snp_data / "mstav_milan_v3_vcek" / "report.bin").read_bytes())
    assert milan.reported_tcb.components() == {"bootloader": 4, "tee": 0, "snp": 24, "microcode": 219}
    genoa = parse_report((snp_data / "mstav_genoa_v3_vcek" / "report.bin").read_bytes())
    assert genoa.reported_tcb.components() == {"bootloader": 10, "tee": 0, "snp": 23, "microcode": 84}
    turin = parse_report((snp_data / "mstav_turin_v5_vcek" / "report.bin").read_bytes())
    assert turin.reported_tcb.components() == {"fmc": 1, "bootloader": 1, "tee": 1, "snp": 4, "microcode": 81}
    assert turin.current_mit_vector == 0x3F and turin.hw_id.hex() == "59790fb1c39f35c1"
    assert not turin.platform_info.tio_enabled and turin.platform_info.alias_check_complete
    debug = parse_report((snp_data / "gosevguest_milan_v2_vcek" / "report.bin").read_bytes())
    assert debug.policy.debug_allowed and debug.policy.smt_allowed and debug.policy.reserved_one
    trustee = parse_report((snp_data / "trustee_milan_v2_vcek" / "report.bin").read_bytes())
    assert trustee.current_tcb.raw.to_bytes(8, "little").hex().endswith("08ce")
    vlek = parse_report((snp_data / "trustee_aws_milan_v3_vlek" / "report.bin").read_bytes())
    assert vlek.chip_id_masked and vlek.signer_info.raw == 0x4
    gcp = parse_report((snp_data / "teekit_gcp_milan_v5_x25519_bound" / "report.bin").read_bytes())
    nonce = bytes.fromhex("df82306ff38a9da023854af947d02a878cfab1b40a793823ff41dc51213b96aa")
    key = bytes.fromhex("03a8107030fabeac06b0df4ef865763918b5e2a9fa030e20025a4315dab4b2a6")
    assert gcp.report_data == hashlib.sha512(nonce + key).digest() and gcp.current_mit_vector == 0x0B


def test_field_table_tiles_the_report_without_gaps():
    position = 0
    for spec in FIELDS:
        assert spec.offset == position, spec.name
        position = spec.end
    assert position == REPORT_SIZE
    assert field_at(0x1A5).name == "chip_id" and field_at(0x2A0).name == "signature_r"


def test_tcb_layouts_differ_by_product():
    raw = int.from_bytes(bytes.fromhex("0101010400000051"), "little")
    assert TcbVersion.decode(raw, Product.TURIN).components()["snp"] == 4
    assert TcbVersion.decode(raw, Product.MILAN).components() == {"bootloader": 1, "tee": 1, "snp": 0,
                                                                   "microcode": 0x51}
    assert TcbVersion.from_components(fmc=1, bootloader=1, tee=1, snp=4, microcode=81).raw == raw
    assert MILAN_TCB.lower_components(TcbVersion.from_components(bootloader=5, tee=0, snp=1, microcode=1)) \
        == ["bootloader"]


@pytest.mark.parametrize(("family", "model", "product"), [
    (0x19, 0x01, Product.MILAN), (0x19, 0x11, Product.GENOA), (0x19, 0xA0, Product.GENOA),
    (0x1A, 0x02, Product.TURIN), (0x1A, 0x50, None), (0x17, 0x01, None)])
def test_product_from_cpuid(family, model, product):
    assert product_from_cpuid(family, model) is product


def _mutate(raw: bytes, offset: int, value: bytes) -> bytes:
    out = bytearray(raw)
    out[offset:offset + len(value)] = value
    return sign_report(bytes(out))


@pytest.mark.parametrize(("offset", "value", "message"), [
    (0x000, (6).to_bytes(4, "little"), "unsupported SNP report version 6"),
    (0x034, (2).to_bytes(4, "little"), "signature algorithm 2"),
    (0x008, (0x10000).to_bytes(8, "little"), "bit 17 must be 1"),
    (0x008, (0x30000 | 1 << 26).to_bytes(8, "little"), "bits 26-63 must be 0"),
    (0x048, (3 << 2).to_bytes(4, "little"), "reserved signing key 3"),
    (0x048, (1 << 5).to_bytes(4, "little"), "reserved bits 5-31"),
    (0x18B, b"\x01", "0x18B"), (0x1EB, b"\x01", "0x1EB"), (0x1F8, b"\x01", "0x1F8"), (0x330, b"\x01", "0x330"),
])
def test_format_rejections(offset, value, message):
    raw = build_report(reported_tcb=MILAN_TCB)
    with pytest.raises(SnpReportError, match=message) as info:
        parse_report(_mutate(raw, offset, value))
    assert info.value.code == "snp-report"


def test_version_specific_ranges():
    v2 = build_report(version=2, reported_tcb=MILAN_TCB)
    assert parse_report(v2).cpuid_fam_id is None
    with pytest.raises(SnpReportError, match="0x188"):
        parse_report(_mutate(v2, 0x188, b"\x19"))
    v5 = build_report(product=Product.TURIN, version=5, reported_tcb=TURIN_TCB, mit_vector=0x3F)
    assert parse_report(v5).launch_mit_vector == 0x3F
    v4 = parse_report(_mutate(build_report(reported_tcb=MILAN_TCB), 0, (4).to_bytes(4, "little")))
    assert v4.version == 4 and v4.product is Product.MILAN


def test_v2_product_comes_from_the_caller_or_the_chip_id():
    v2 = build_report(version=2, reported_tcb=TURIN_TCB, chip_id=bytes(range(1, 9)) + bytes(56))
    assert parse_report(v2).product_source == "chip-id"
    assert parse_report(v2, product=Product.GENOA).product is Product.GENOA


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=1300))
def test_fuzz_arbitrary_bytes_raise_only_evidence_errors(data):
    try:
        parse_report(data)
    except EvidenceError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, REPORT_SIZE - 1), st.integers(0, 255)), max_size=8))
def test_fuzz_mutated_reports_raise_only_evidence_errors(edits):
    raw = bytearray(build_report(reported_tcb=MILAN_TCB))
    for offset, value in edits:
        raw[offset] = value
    try:
        report = parse_report(bytes(raw))
    except EvidenceError:
        return
    assert report.version in (2, 3, 4, 5)


def test_trailing_bytes_are_ignored_and_counted():
    raw = build_report(reported_tcb=MILAN_TCB)
    report = parse_report(raw + b"\xaa" * 20)
    assert report.trailing_bytes == 20
    assert report.raw == raw and report.signed_bytes == raw[:0x2A0]
    assert parse_report(raw).trailing_bytes == 0
    assert report.measurement == parse_report(raw).measurement


def test_truncated_report_is_still_an_error():
    raw = build_report(reported_tcb=MILAN_TCB)
    with pytest.raises(SnpReportError, match="exactly 1184 bytes, but this one has 1183") as info:
        parse_report(raw[:1183])
    assert info.value.code == "snp-report"
