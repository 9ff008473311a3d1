"""Every real TDX set yields exactly the outcome the corpus README documents, at a fixed time."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest

from core.attestation.tdx.policy import TdxPolicy, validate_tdx
from core.attestation.tdx.quote import parse_quote
from core.attestation.tdx.roots import TdxTrust
from core.attestation.tdx.verify import evaluate_quote_tcb, verify_tdx
from core.attestation.verdict import Stage, Status
from core.errors import EvidenceError

from .corpus import collateral_for, issue_time, quote_bytes, tdx_dir
from .synth import default_pki

CRYPTO = ("tdx.quote.parse", "tdx.quote.vendor", "tdx.pck.chain", "tdx.pck.validity", "tdx.signature",
          "tdx.qe.signature", "tdx.qe.binding", "tdx.tcbinfo.signature", "tdx.qeidentity.signature",
          "tdx.tcbinfo.validity", "tdx.qeidentity.validity", "tdx.tcbinfo.platform", "tdx.tdx_module",
          "tdx.qe.identity", "tdx.root.crl")

# A reasonable policy: UpToDate TCB only, no debug TD, CRLs required ("strict"). Most sets ship no
# PCK CRL, so for them the same policy tolerates the missing CRL ("uptodate": crl_policy "warn").
POLICIES = {
    "strict": TdxPolicy(),
    "uptodate": TdxPolicy(crl_policy="warn"),
}

# set, fmspc of collateral_2025 to use (None: the set's own), expected TCB status, advisories expected,
# the reasonable policy, acceptable under it (the README), and the policy ids that fail under it
SETS = [
    ("phala_tdx_v4_b0c06f_uptodate", None, "UpToDate", False, "strict", True, set()),
    ("phala_tdx_v5_90c06f_outdated", None, "NoMatchingTcbLevel", False, "strict", False, {"policy.tcb_status"}),
    ("gotdx_spr_e4_v4", None, "NoMatchingTcbLevel", False, "strict", False, {"policy.tcb_status"}),
    ("trustee_tdx_v4_gnr_00a06d_outofdate", None, "OutOfDate", False, "uptodate", False, {"policy.tcb_status"}),
    ("gotdx_gcp_cos113_v4_ccel", "00806f050000", "UpToDate", False, "uptodate", True, set()),
    ("teekit_azure_v4", "00806f050000", "UpToDate", False, "uptodate", True, set()),
    ("teekit_gcp_v4_no_nonce", "00806f050000", "UpToDate", False, "uptodate", True, set()),
    ("teekit_zkdcap_v4_00806f", "00806f050000", "OutOfDate", True, "uptodate", False,
     {"policy.tcb_status", "policy.advisories"}),
    ("teekit_moemahhouk_v4_90c06f", "90c06f000000", "NoMatchingTcbLevel", False, "uptodate", False,
     {"policy.tcb_status"}),
    ("teekit_dstack_tappd_v4_b0c06f", "b0c06f000000", "NoMatchingTcbLevel", False, "uptodate", False,
     {"policy.tcb_status"}),
    ("trustee_tdx_v4_debug_50806f", "50806f000000", "OutOfDate", True, "uptodate", False,
     {"policy.debug", "policy.tcb_status", "policy.advisories"}),
    ("trustee_azure_tdx_vtpm", "00806f050000", "OutOfDate", True, "uptodate", False,
     {"policy.tcb_status", "policy.advisories"}),
]
TCB_CHECK_STATUS = {"UpToDate": Status.PASS, "OutOfDate": Status.WARN, "NoMatchingTcbLevel": Status.FAIL}


@pytest.mark.parametrize(("set_name", "fmspc", "tcb", "advisories"), [s[:4] for s in SETS], ids=[s[0] for s in SETS])
def test_set_outcome(set_name: str, fmspc: str | None, tcb: str, advisories: bool) -> None:
    collateral = collateral_for(set_name, fmspc)
    verdict = verify_tdx(quote_bytes(set_name), collateral, at=issue_time(collateral))
    for cid in CRYPTO:
        assert verdict.get(cid).status is Status.PASS, (cid, verdict.get(cid))
    status = verdict.get("tdx.tcb.status")
    assert status.status is TCB_CHECK_STATUS[tcb]
    assert status.actual.split(";")[0] == tcb
    assert ("advisories INTEL-SA-" in status.actual) is advisories
    assert verdict.authentic is (tcb != "NoMatchingTcbLevel")


@pytest.mark.parametrize(("set_name", "fmspc", "policy", "acceptable", "policy_failing"),
                         [(s[0], s[1], *s[4:]) for s in SETS], ids=[s[0] for s in SETS])
def test_set_acceptability_under_a_reasonable_policy(set_name: str, fmspc: str | None, policy: str,
                                                     acceptable: bool, policy_failing: set[str]) -> None:
    collateral = collateral_for(set_name, fmspc)
    quote = parse_quote(quote_bytes(set_name))
    at = issue_time(collateral)
    verdict = verify_tdx(quote, collateral, at=at)
    try:
        tcb = evaluate_quote_tcb(quote, collateral)
    except EvidenceError:
        tcb = None
    validate_tdx(quote, POLICIES[policy], verdict, tcb_status=tcb, at=at)
    assert verdict.policy_applied
    assert {c.id for c in verdict.failures() if c.stage is Stage.VALIDATE} == policy_failing
    assert verdict.acceptable is acceptable


def test_uptodate_set_passes_its_own_pinned_policy_fully() -> None:
    name = "phala_tdx_v4_b0c06f_uptodate"
    collateral = collateral_for(name, None)
    quote = parse_quote(quote_bytes(name))
    at = issue_time(collateral)
    verdict = verify_tdx(quote, collateral, at=at)
    validate_tdx(quote, TdxPolicy.from_quote(quote), verdict, tcb_status=evaluate_quote_tcb(quote, collateral), at=at)
    assert not verdict.failures()
    assert verdict.acceptable
    assert all(c.status is Status.PASS for c in verdict.checks if c.id in ("tdx.pck.crl", "tdx.crl.validity"))


def test_debug_td_is_authentic_but_fails_a_no_debug_policy() -> None:
    name = "trustee_tdx_v4_debug_50806f"
    collateral = collateral_for(name, "50806f000000")
    quote = parse_quote(quote_bytes(name))
    at = issue_time(collateral)
    verdict = verify_tdx(quote, collateral, at=at)
    assert verdict.authentic
    assert verdict.get("tdx.debug").status is Status.WARN
    policy = TdxPolicy(accepted_tcb_statuses=("UpToDate", "OutOfDate"), crl_policy="warn")
    validate_tdx(quote, policy, verdict, tcb_status=evaluate_quote_tcb(quote, collateral), at=at)
    assert verdict.get("policy.debug").status is Status.FAIL
    assert [c.id for c in verdict.failures()] == ["policy.debug"]
    assert not verdict.acceptable


def test_outofdate_advisories_fail_default_policy_and_pass_when_waived() -> None:
    name = "teekit_zkdcap_v4_00806f"
    collateral = collateral_for(name, "00806f050000")
    quote = parse_quote(quote_bytes(name))
    at = issue_time(collateral)
    evaluation = evaluate_quote_tcb(quote, collateral)
    assert evaluation is not None and evaluation.advisory_ids == ("INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986")
    strict = validate_tdx(quote, TdxPolicy(crl_policy="warn"), verify_tdx(quote, collateral, at=at),
                          tcb_status=evaluation, at=at)
    assert strict.get("policy.tcb_status").status is Status.FAIL
    assert strict.get("policy.advisories").status is Status.FAIL
    waivers = [{"advisory_id": a, "expires": "2026-01-01"} for a in evaluation.advisory_ids]
    waived_policy = TdxPolicy.from_json({"version": 1, "advisory_waivers": waivers, "crl_policy": "warn"})
    waived = validate_tdx(quote, waived_policy, verify_tdx(quote, collateral, at=at), tcb_status=evaluation, at=at)
    assert waived.get("policy.tcb_status").status is Status.PASS
    assert waived.acceptable


def test_v5_quote_known_layout() -> None:
    quote = parse_quote(quote_bytes("phala_tdx_v5_90c06f_outdated"))
    assert (quote.header.version, quote.body_type, quote.body_size) == (5, 3, 648)
    assert quote.signed_region_end == 702 and quote.signature_data_len == 4300
    assert quote.body.tee_tcb_svn_2 is not None and len(quote.body.mr_service_td or b"") == 48


@pytest.mark.parametrize(("set_name", "sha", "svn", "attrs", "xfam", "mrtd"), [
    ("phala_tdx_v4_b0c06f_uptodate", "c42f9164325024bca2757bc8819b11879a0a369132ea4e2b7c85df4805ea72db",
     "06010300", "0000001000000000", "e702060000000000", "91eb2b44d141d4ece09f0c75c2c53d24"),
    ("trustee_tdx_v4_debug_50806f", "12b401a88a51edb2d12cac4db0c6b8668a163960fbf848c16889a40955f946a9",
     "03000500", "0100001000000000", "e742060000000000", "705ee9381b8633a9fbe532b52345e843"),
])
def test_known_answers(set_name, sha, svn, attrs, xfam, mrtd) -> None:  # type: ignore[no-untyped-def]
    raw = quote_bytes(set_name)
    assert hashlib.sha256(raw).hexdigest() == sha
    quote = parse_quote(raw)
    body = quote.body
    assert body.tee_tcb_svn.hex().startswith(svn) and body.td_attributes.hex() == attrs
    assert body.xfam.hex() == xfam and body.mr_td[:16].hex() == mrtd
    assert quote.signature_data_len == 4300 and quote.signed_region_end == 0x278
    assert body.attributes.debug is (attrs[1] == "1")


def test_ccel_quote_rtmrs_match_the_replay_record() -> None:
    quote = parse_quote(quote_bytes("gotdx_gcp_cos113_v4_ccel"))
    lines = (tdx_dir("gotdx_gcp_cos113_v4_ccel") / "RTMR_REPLAY.txt").read_text().split("\n")
    expected = [line.split()[2] for line in lines if line.startswith("RTMR")]
    assert [r.hex() for r in quote.body.rtmrs] == expected
    assert quote.trailing_bytes > 0 and quote.body.report_data == bytes(64)


def test_azure_report_data_binds_runtime_data() -> None:
    quote = parse_quote(quote_bytes("trustee_azure_tdx_vtpm"))
    runtime = (tdx_dir("trustee_azure_tdx_vtpm") / "runtime_data.json").read_bytes()
    assert json.loads(runtime)  # it is the JSON document the HCL signed
    assert quote.body.report_data[:32] == hashlib.sha256(runtime).digest()


def test_expired_collateral_is_reported_not_raised() -> None:
    name = "phala_tdx_v4_b0c06f_uptodate"
    collateral = collateral_for(name, None)
    verdict = verify_tdx(quote_bytes(name), collateral, at=datetime(2025, 9, 1, tzinfo=timezone.utc))
    assert verdict.get("tdx.tcbinfo.validity").status is Status.FAIL
    assert verdict.get("tdx.qeidentity.validity").status is Status.FAIL
    assert verdict.get("tdx.crl.validity").status is Status.FAIL
    assert verdict.get("tdx.signature").status is Status.PASS
    assert not verdict.authentic


def test_real_quote_is_not_trusted_without_the_intel_root() -> None:
    name = "phala_tdx_v4_b0c06f_uptodate"
    collateral = collateral_for(name, None)
    trust = TdxTrust.with_extra_root(default_pki().root, label="test", explicitly_enabled=True,
                                     include_intel=False)
    verdict = verify_tdx(quote_bytes(name), collateral, at=issue_time(collateral), trust=trust)
    assert verdict.get("tdx.pck.chain").status is Status.FAIL
    assert "not pinned" in verdict.get("tdx.pck.chain").actual
    assert verdict.get("tdx.tcbinfo.signature").status is Status.FAIL
    assert verdict.get("tdx.signature").status is Status.PASS


def test_old_tcb_signing_certificate_expired_after_2025_05_21() -> None:
    collateral = collateral_for("gotdx_spr_e4_v4", None)
    later = datetime(2025, 6, 1, tzinfo=timezone.utc)
    verdict = verify_tdx(quote_bytes("gotdx_spr_e4_v4"), collateral, at=later)
    check = verdict.get("tdx.tcbinfo.validity")
    assert check.status is Status.FAIL and "Intel SGX TCB Signing" in check.actual
