"""Verification over the real evidence corpus: every set gives the README's outcome."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import NamedTuple

import pytest

from core.attestation.assess import assess
from core.attestation.evidence import hcl_binding_ok, load_evidence
from core.attestation.snp.certs import load_certificate_files
from core.attestation.snp.chain import verify_vek_chain
from core.attestation.snp.policy import SnpPolicy, validate_snp
from core.attestation.snp.report import SnpReportError, parse_report
from core.attestation.snp.verify import check_signature, verify_snp
from core.attestation.verdict import Stage, Status, Verdict

from .conftest import load_set, utc


class Case(NamedTuple):
    leaf: str                  # the VCEK/VLEK file
    chain: list[str]           # CA files that come with the set
    day: str                   # verification time near capture
    failing: set[str]          # verification ids that fail
    warned: set[str]           # verification ids that warn
    policy: str                # a reasonable policy for this kind of VM (POLICIES)
    acceptable: bool           # the README's "acceptable under a reasonable policy"
    policy_failing: set[str]   # the policy ids that fail under it


# A reasonable policy: debugging off, no migration agent, the report requested at VMPL 0 (a plain
# confidential VM), and a chip-specific VCEK unless the VM is known to use a cloud provider's VLEK.
POLICIES = {
    "vmpl0": SnpPolicy(vmpl=0),
    "vmpl0-vlek": SnpPolicy(vmpl=0, allow_vlek=True),
}

SETS = {
    "virtee_sev_milan_v2_vcek": Case("vcek.der", ["cert_chain.pem"], "2023-05-01", set(), set(),
                                     "vmpl0", True, set()),
    "trustee_milan_v2_vcek": Case("vcek.der", ["ask_ark_asvk.pem"], "2024-07-03", set(), set(),
                                  "vmpl0", True, set()),
    "gosevguest_milan_v2_vcek": Case("vcek.der", ["cert_chain.pem"], "2022-09-25", set(), {"snp.debug"},
                                     "vmpl0", False, {"policy.debug"}),
    "mstav_milan_v3_vcek": Case("vcek.pem", ["ask.pem", "ark.pem"], "2026-02-06", set(), set(),
                                "vmpl0", True, set()),
    "mstav_genoa_v3_vcek": Case("vcek.pem", ["ask.pem", "ark.pem"], "2026-02-06", set(), set(),
                                "vmpl0", True, set()),
    "mstav_turin_v5_vcek": Case("vcek.pem", ["ask.pem", "ark.pem"], "2026-02-06", set(), set(),
                                "vmpl0", True, set()),
    "teekit_gcp_milan_v5_x25519_bound": Case("vcek.pem", ["cert_chain.pem"], "2025-12-06", set(), set(),
                                             "vmpl0", False, {"policy.vmpl"}),
    "trustee_aws_milan_v3_vlek": Case("vlek.der", ["vlek_cert_chain.pem"], "2025-05-28", set(), set(),
                                      "vmpl0-vlek", False, {"policy.vmpl"}),
    "constellation_vlek_milan_v2_MISMATCH": Case("vlek.pem", ["vlek_cert_chain.pem"], "2023-11-24",
                                                 {"snp.signature"}, set(), "vmpl0-vlek", False, set()),
    "constellation_azure_milan_v2": Case("vcek_kds.der", ["cert_chain.pem"], "2023-11-24", set(), set(),
                                         "vmpl0", True, set()),
    "trustee_azure_vtpm_milan_ev0": Case("vcek.pem", ["ask.pem", "ark.pem"], "2026-02-20", set(), set(),
                                         "vmpl0", True, set()),
    "trustee_azure_vtpm_milan_ev1": Case("vcek.der", ["ask.pem", "ark.pem"], "2026-02-20", set(), set(),
                                         "vmpl0", True, set()),
    "trustee_azure_vtpm_milan_ev2": Case("vcek.der", ["ask.pem", "ark.pem"], "2026-07-16", set(), set(),
                                         "vmpl0", True, set()),
    "trustee_azure_vtpm_milan_hclreport": Case("vcek_ask_ark.pem", [], "2024-07-03", set(), set(),
                                               "vmpl0", True, set()),
    "trustee_genoa_v3_e2e": Case("vcek.der", ["ask.pem", "ark.pem"], "2025-05-28", set(), set(),
                                 "vmpl0", True, set()),
}


def _verify(snp_data, name, report: bytes | None = None, **kwargs) -> Verdict:
    case = SETS[name]
    vcek, certs = load_set(snp_data / name, case.leaf, case.chain)
    report = report if report is not None else (snp_data / name / "report.bin").read_bytes()
    return verify_snp(report, vcek=vcek, chain=certs, at=kwargs.pop("at", utc(case.day)), **kwargs)


@pytest.mark.parametrize("name", sorted(SETS))
def test_each_set_has_its_documented_outcome(snp_data, name):
    verdict = _verify(snp_data, name)
    case = SETS[name]
    assert {c.id for c in verdict.failures()} == case.failing
    assert {c.id for c in verdict.checks if c.status is Status.WARN} == case.warned
    assert verdict.authentic is (not case.failing)
    for required in ("snp.signature", "snp.chain.ark", "snp.validity", "snp.product"):
        assert verdict.get(required) is not None


@pytest.mark.parametrize("name", sorted(SETS))
def test_each_set_is_acceptable_or_not_under_a_reasonable_policy(snp_data, name):
    case = SETS[name]
    verdict = _verify(snp_data, name)
    validate_snp((snp_data / name / "report.bin").read_bytes(), POLICIES[case.policy], verdict)
    assert verdict.policy_applied
    assert {c.id for c in verdict.failures() if c.stage is Stage.VALIDATE} == case.policy_failing
    assert verdict.acceptable is case.acceptable
    assert verdict.authentic is (not case.failing)  # the policy never changes authenticity


def _hex_line(path, key: str) -> bytes:
    lines = dict(line.split("=", 1) for line in path.read_text().split() if "=" in line)
    return bytes.fromhex(lines[key])


def test_gcp_report_data_binds_the_nonce_and_x25519_key(snp_data):
    name = "teekit_gcp_milan_v5_x25519_bound"
    nonce = _hex_line(snp_data / name / "binding.txt", "NONCE")
    key = _hex_line(snp_data / name / "binding.txt", "X25519_KEY")
    assert (len(nonce), len(key)) == (32, 32)
    policy = SnpPolicy(vmpl=1)  # GCP requests its reports at VMPL 1
    bound = validate_snp((snp_data / name / "report.bin").read_bytes(),
                         policy.with_report_data(hashlib.sha512(nonce + key).digest()), _verify(snp_data, name))
    assert bound.get("policy.report_data").status is Status.PASS and bound.acceptable
    other_key = bytes([key[0] ^ 1]) + key[1:]
    replayed = validate_snp((snp_data / name / "report.bin").read_bytes(),
                            policy.with_report_data(hashlib.sha512(nonce + other_key).digest()),
                            _verify(snp_data, name))
    assert [c.id for c in replayed.failures()] == ["policy.report_data"] and not replayed.acceptable


def test_constellation_azure_report_data_binds_the_runtime_data(snp_data):
    base = snp_data / "constellation_azure_milan_v2"
    runtime = (base / "runtimedata.bin").read_bytes()
    report = parse_report((base / "report.bin").read_bytes())
    assert report.report_data[:32] == hashlib.sha256(runtime).digest()
    expected = hashlib.sha256(runtime).digest() + report.report_data[32:]
    verdict = validate_snp(report, SnpPolicy(vmpl=0).with_report_data(expected),
                           _verify(snp_data, "constellation_azure_milan_v2"))
    assert verdict.get("policy.report_data").status is Status.PASS and verdict.acceptable
    tampered = hashlib.sha256(runtime + b" ").digest() + report.report_data[32:]
    assert validate_snp(report, SnpPolicy(report_data=tampered)).get("policy.report_data").status is Status.FAIL


def test_constellation_attestation_with_trailing_bytes_verifies_with_a_warning(snp_data):
    base = snp_data / "constellation_azure_milan_v2"
    data = (base / "attestation_1204.bin").read_bytes()
    assert len(data) == 1204
    report = parse_report(data)
    assert report.trailing_bytes == 20 and report.raw == (base / "report.bin").read_bytes()
    verdict = _verify(snp_data, "constellation_azure_milan_v2", report=data)
    assert verdict.authentic and verdict.failures() == []
    trailing = verdict.get("snp.report.trailing")
    assert trailing.status is Status.WARN and "20 more byte(s)" in trailing.explanation
    evidence = load_evidence(data)  # the same file through the app's evidence loader
    assert evidence.report.trailing_bytes == 20


AZURE_VTPM = ["trustee_azure_vtpm_milan_ev0", "trustee_azure_vtpm_milan_ev1", "trustee_azure_vtpm_milan_ev2"]


@pytest.mark.parametrize("name", AZURE_VTPM)
def test_azure_vtpm_report_data_binds_the_hcl_runtime_data(snp_data, name):
    base = snp_data / name
    runtime = (base / "runtime_data.json").read_bytes()
    assert json.loads(runtime)["keys"][0]["kid"] == "HCLAkPub"  # the JSON that carries the vTPM key
    report = parse_report((base / "report.bin").read_bytes())
    assert report.report_data == hashlib.sha256(runtime).digest() + bytes(32)
    evidence = load_evidence((base / "hcl_report.bin").read_bytes())
    assert evidence.runtime_data == runtime and evidence.report.raw == report.raw
    assert hcl_binding_ok(evidence) is True
    altered = replace(evidence, runtime_data=runtime.replace(b"HCLAkPub", b"HCLAkPuB"))
    assert hcl_binding_ok(altered) is False


@pytest.mark.parametrize("name", [*AZURE_VTPM, "trustee_azure_vtpm_milan_hclreport"])
def test_azure_hcl_evidence_is_bound_and_acceptable_end_to_end(snp_data, name):
    case = SETS[name]
    vcek, certs = load_set(snp_data / name, case.leaf, case.chain)
    evidence = load_evidence((snp_data / name / "hcl_report.bin").read_bytes())
    verdict = assess(evidence, vcek=vcek, chain=certs, policy=POLICIES[case.policy], at=utc(case.day))
    assert verdict.get("azure.runtime_data").status is Status.PASS
    assert verdict.authentic and verdict.acceptable and verdict.failures() == []


@pytest.mark.parametrize("name", ["trustee_milan_v2_vcek", "mstav_genoa_v3_vcek", "mstav_turin_v5_vcek",
                                  "trustee_aws_milan_v3_vlek"])
def test_the_same_sets_verify_with_the_pinned_chain_only(snp_data, name):
    vcek, _ = load_set(snp_data / name, SETS[name].leaf, [])
    verdict = verify_snp((snp_data / name / "report.bin").read_bytes(), vcek=vcek, at=utc(SETS[name].day))
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


def test_a_supplied_genuine_ark_is_named_as_amds_own(snp_data):
    ark = _verify(snp_data, "mstav_milan_v3_vcek").get("snp.chain.ark")
    assert ark.status is Status.PASS and "AMD's own ARK-Milan" in ark.explanation
    assert ark.actual.startswith("used AMD pinned root 'ARK-Milan'") and "ignored" not in ark.actual
