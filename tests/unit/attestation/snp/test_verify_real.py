"""Verification over the real evidence corpus: every set gives the README's outcome."""

from __future__ import annotations

import pytest

from core.attestation.snp.certs import load_certificate_files
from core.attestation.snp.chain import verify_vek_chain
from core.attestation.snp.policy import SnpPolicy, validate_snp
from core.attestation.snp.report import SnpReportError, parse_report
from core.attestation.snp.verify import check_signature, verify_snp
from core.attestation.verdict import Status, Verdict

from .conftest import load_set, utc

# set -> (leaf file, CA files, verification time near capture, failing ids, warned ids)
SETS = {
    "virtee_sev_milan_v2_vcek": ("vcek.der", ["cert_chain.pem"], "2023-05-01", set(), set()),
    "trustee_milan_v2_vcek": ("vcek.der", ["ask_ark_asvk.pem"], "2024-07-03", set(), set()),
    "gosevguest_milan_v2_vcek": ("vcek.der", ["cert_chain.pem"], "2022-09-25", set(), {"snp.debug"}),
    "mstav_milan_v3_vcek": ("vcek.pem", ["ask.pem", "ark.pem"], "2026-02-06", set(), set()),
    "mstav_genoa_v3_vcek": ("vcek.pem", ["ask.pem", "ark.pem"], "2026-02-06", set(), set()),
    "mstav_turin_v5_vcek": ("vcek.pem", ["ask.pem", "ark.pem"], "2026-02-06", set(), set()),
    "teekit_gcp_milan_v5_x25519_bound": ("vcek.pem", ["cert_chain.pem"], "2025-12-06", set(), set()),
    "trustee_aws_milan_v3_vlek": ("vlek.der", ["vlek_cert_chain.pem"], "2025-05-28", set(), set()),
    "constellation_vlek_milan_v2_MISMATCH": ("vlek.pem", ["vlek_cert_chain.pem"], "2023-11-24",
                                             {"snp.signature"}, set()),
    "constellation_azure_milan_v2": ("vcek_kds.der", ["cert_chain.pem"], "2023-11-24", set(), set()),
    "trustee_azure_vtpm_milan_ev0": ("vcek.pem", ["ask.pem", "ark.pem"], "2026-02-20", set(), set()),
    "trustee_azure_vtpm_milan_ev1": ("vcek.der", ["ask.pem", "ark.pem"], "2026-02-20", set(), set()),
    "trustee_azure_vtpm_milan_ev2": ("vcek.der", ["ask.pem", "ark.pem"], "2026-07-16", set(), set()),
    "trustee_azure_vtpm_milan_hclreport": ("vcek_ask_ark.pem", [], "2024-07-03", set(), set()),
    "trustee_genoa_v3_e2e": ("vcek.der", ["ask.pem", "ark.pem"], "2025-05-28", set(), set()),
}


def _verify(snp_data, name, **kwargs) -> Verdict:
    leaf, chain, day, _, _ = SETS[name]
    vcek, certs = load_set(snp_data / name, leaf, chain)
    report = (snp_data / name / "report.bin").read_bytes()
    return verify_snp(report, vcek=vcek, chain=certs, at=kwargs.pop("at", utc(day)), **kwargs)


@pytest.mark.parametrize("name", sorted(SETS))
def test_each_set_has_its_documented_outcome(snp_data, name):
    verdict = _verify(snp_data, name)
    _, _, _, failing, warned = SETS[name]
    assert {c.id for c in verdict.failures()} == failing
    assert {c.id for c in verdict.checks if c.status is Status.WARN} == warned
    assert verdict.authentic is (not failing)
    for required in ("snp.signature", "snp.chain.ark", "snp.validity", "snp.product"):
        assert verdict.get(required) is not None


@pytest.mark.parametrize("name", ["trustee_milan_v2_vcek", "mstav_genoa_v3_vcek", "mstav_turin_v5_vcek",
                                  "trustee_aws_milan_v3_vlek"])
def test_the_same_sets_verify_with_the_pinned_chain_only(snp_data, name):
    leaf, _, day, _, _ = SETS[name]
    vcek, _ = load_set(snp_data / name, leaf, [])
    verdict = verify_snp((snp_data / name / "report.bin").read_bytes(), vcek=vcek, at=utc(day))
    assert verdict.authentic, verdict.failures()


def test_an_expired_vlek_fails_validity_only(snp_data):
    verdict = _verify(snp_data, "trustee_aws_milan_v3_vlek", at=utc("2026-01-01"))
    assert {c.id for c in verdict.failures()} == {"snp.validity"}
    assert "expired on 2025-12-10" in verdict.get("snp.validity").explanation


def test_v2_report_needs_reported_tcb_not_current(snp_data):
    report = parse_report((snp_data / "trustee_milan_v2_vcek" / "report.bin").read_bytes())
    assert report.reported_tcb.raw != report.current_tcb.raw
    verdict = _verify(snp_data, "trustee_milan_v2_vcek")
    assert verdict.get("snp.tcb.match").status is Status.PASS


def test_debug_report_fails_a_no_debug_policy(snp_data):
    verdict = _verify(snp_data, "gosevguest_milan_v2_vcek")
    validate_snp((snp_data / "gosevguest_milan_v2_vcek" / "report.bin").read_bytes(), SnpPolicy(), verdict)
    assert verdict.authentic and not verdict.acceptable
    assert [c.id for c in verdict.failures()] == ["policy.debug"]


@pytest.mark.parametrize("name", ["trustee_aws_milan_v3_vlek", "teekit_gcp_milan_v5_x25519_bound"])
def test_vmpl1_reports_fail_a_vmpl0_policy(snp_data, name):
    verdict = _verify(snp_data, name)
    validate_snp((snp_data / name / "report.bin").read_bytes(), SnpPolicy(vmpl=0, allow_vlek=True), verdict)
    assert [c.id for c in verdict.failures()] == ["policy.vmpl"]


NEGATIVE = {
    "flip_report_data.bin": "snp.signature",
    "flip_measurement.bin": "snp.signature",
    "flip_signature_r.bin": "snp.signature",
    "signature_rs_big_endian.bin": "snp.signature",
    "sig_algo_0.bin": "snp.report.parse",
    "mbz_0x4C_nonzero.bin": "snp.report.parse",
    "reported_tcb_bl_plus1.bin": "snp.signature",
    "version_1.bin": "snp.report.parse",
    "truncated_1183.bin": "snp.report.parse",
    "signing_key_none.bin": "snp.signer",
}
NEGATIVE_MESSAGES = {
    "sig_algo_0.bin": "signature algorithm 0", "mbz_0x4C_nonzero.bin": "0x04C",
    "version_1.bin": "version 1", "truncated_1183.bin": "1183",
}


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_derived_are_rejected_with_their_reason(snp_data, name):
    data = (snp_data / "negative_derived" / name).read_bytes()
    base = snp_data / "mstav_milan_v3_vcek"
    vcek, chain = load_set(base, "vcek.pem", ["ask.pem", "ark.pem"])
    verdict = verify_snp(data, vcek=vcek, chain=chain, at=utc("2026-02-06"))
    assert not verdict.authentic
    assert NEGATIVE[name] in {c.id for c in verdict.failures()}
    if name in NEGATIVE_MESSAGES:
        with pytest.raises(SnpReportError, match=NEGATIVE_MESSAGES[name]):
            parse_report(data)
    if name == "reported_tcb_bl_plus1.bin":
        assert verdict.get("snp.tcb.match").status is Status.FAIL
        assert "bootloader: certificate 4, report 5" in verdict.get("snp.tcb.match").explanation


def test_genoa_report_with_milan_chain_fails(snp_data):
    vcek, _ = load_set(snp_data / "mstav_genoa_v3_vcek", "vcek.pem", [])
    milan = load_certificate_files(snp_data / "amd_roots" / "milan" / "vcek_cert_chain.pem")
    verdict = verify_snp((snp_data / "mstav_genoa_v3_vcek" / "report.bin").read_bytes(), vcek=vcek,
                         chain=milan, at=utc("2026-02-06"))
    failing = {c.id for c in verdict.failures()}
    assert {"snp.chain.vcek", "snp.product"} <= failing


def test_vlek_checked_against_the_ask_fails(snp_data):
    vlek, _ = load_set(snp_data / "trustee_aws_milan_v3_vlek", "vlek.der", [])
    ask_chain = load_certificate_files(snp_data / "amd_roots" / "milan" / "vcek_cert_chain.pem")
    verdict = verify_snp((snp_data / "trustee_aws_milan_v3_vlek" / "report.bin").read_bytes(), vcek=vlek,
                         chain=ask_chain, at=utc("2025-05-28"))
    assert {c.id for c in verdict.failures()} == {"snp.chain.vlek"}
    assert "must be issued by the ASVK" in verdict.get("snp.chain.vlek").explanation


def test_vcek_of_another_chip_fails(snp_data):
    other, _ = load_set(snp_data / "mstav_genoa_v3_vcek", "vcek.pem", [])
    verdict = verify_snp((snp_data / "mstav_milan_v3_vcek" / "report.bin").read_bytes(), vcek=other,
                         at=utc("2026-02-06"))
    failing = {c.id for c in verdict.failures()}
    assert {"snp.signature", "snp.tcb.match", "snp.chip_id", "snp.product"} <= failing


@pytest.mark.parametrize("fixture", ["vcek_invalid_legacy_hwid_raw.der", "vcek_invalid_new_hwid_octetstring.der"])
def test_edited_vceks_parse_but_fail_the_chain(snp_data, fixture):
    vcek, _ = load_set(snp_data / "trustee_vcek_parsing_fixtures", fixture, [])
    verdict = verify_vek_chain(vcek, at=utc("2024-01-01"))
    assert verdict.get("snp.vek.extensions").status is Status.PASS
    assert {c.id for c in verdict.failures()} == {"snp.chain.vcek"}


def test_turin_vcek_only_chain_passes(snp_data):
    vcek, chain = load_set(snp_data / "virtee_sev_turin_vcek_only", "vcek.der", ["cert_chain.pem"])
    verdict = verify_vek_chain(vcek, chain=chain, at=utc("2025-01-01"))
    assert verdict.authentic, verdict.failures()
    assert verdict.get("snp.product").expected == "Turin"


def test_flipping_any_signed_bit_breaks_authenticity(snp_data):
    """All 5376 bits of 0x000-0x29F: each flip is rejected by the parser or fails the signature."""
    raw = (snp_data / "mstav_milan_v3_vcek" / "report.bin").read_bytes()
    vcek, _ = load_set(snp_data / "mstav_milan_v3_vcek", "vcek.pem", [])
    assert check_signature(Verdict("snp"), parse_report(raw), vcek)
    accepted = []
    for bit in range(0x2A0 * 8):
        mutated = bytearray(raw)
        mutated[bit // 8] ^= 1 << (bit % 8)
        try:
            report = parse_report(bytes(mutated))
        except SnpReportError:
            continue
        if check_signature(Verdict("snp"), report, vcek):
            accepted.append(bit)
    assert accepted == []
