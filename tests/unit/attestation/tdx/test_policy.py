"""TdxPolicy: JSON round trip, strict reading, and validation outcomes."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from core.attestation.tdx.errors import TdxPolicyError
from core.attestation.tdx.policy import AdvisoryWaiver, TdxPolicy, validate_tdx
from core.attestation.tdx.quote import parse_quote
from core.attestation.tdx.verify import evaluate_quote_tcb, verify_tdx
from core.attestation.verdict import Stage, Status

from .synth import EPOCH, default_pki, make_collateral, make_quote, make_tcb_info, tcb_level, trust_for

AT = datetime(2025, 6, 1, tzinfo=timezone.utc)


def _run(policy: TdxPolicy, raw: bytes | None = None, collateral=None, at=AT):  # type: ignore[no-untyped-def]
    pki = default_pki()
    quote = parse_quote(raw or make_quote(pki))
    collateral = collateral or make_collateral(pki)
    verdict = verify_tdx(quote, collateral, at=EPOCH, trust=trust_for(pki))
    return validate_tdx(quote, policy, verdict, tcb_status=evaluate_quote_tcb(quote, collateral), at=at)


def test_from_quote_pins_and_passes() -> None:
    quote = parse_quote(make_quote())
    policy = TdxPolicy.from_quote(quote)
    assert policy.mr_td == quote.body.mr_td and policy.report_data is None and policy.mr_owner is None
    verdict = _run(policy)
    assert verdict.acceptable and verdict.policy_applied
    assert all(c.stage is Stage.VALIDATE for c in verdict.checks if c.id.startswith("policy."))


def test_json_round_trip_and_version() -> None:
    policy = TdxPolicy(mr_td=b"\x01" * 48, rtmrs=(None, b"\x02" * 48, None, None), allow_debug=False,
                       accepted_tcb_statuses=("UpToDate", "SWHardeningNeeded"), minimum_qe_svn=3,
                       advisory_waivers=(AdvisoryWaiver("INTEL-SA-00960", date(2026, 1, 1), "vendor fix pending"),))
    doc = json.dumps(policy.to_json())
    assert TdxPolicy.from_json(doc) == policy
    assert json.loads(doc)["version"] == 1
    assert json.loads(doc)["format"] == "prism-tdx-policy"


def test_format_tag_is_checked_and_optional_for_older_files() -> None:
    policy = TdxPolicy(mr_td=b"\x01" * 48, minimum_qe_svn=3)
    tagged = policy.to_json()
    assert tagged["format"] == "prism-tdx-policy" and list(tagged)[:2] == ["format", "version"]
    untagged = {k: v for k, v in tagged.items() if k != "format"}  # as written before the tag existed
    assert TdxPolicy.from_json(json.dumps(untagged)) == policy == TdxPolicy.from_json(tagged)
    for wrong in ("prism-snp-policy", None, 1):
        with pytest.raises(TdxPolicyError, match="not a Prism TDX policy") as info:
            TdxPolicy.from_json({**tagged, "format": wrong})
        assert info.value.code == "tdx-bad-policy"


@pytest.mark.parametrize("doc", [
    {"version": 1, "mrtd": "00"},                       # unknown key (typo)
    {"version": 2},                                     # unknown version
    {"version": True},                                  # a boolean is not version 1
    {"format": "prism-snp-policy", "version": 1},       # the other platform's policy
    {"mr_td": "00" * 48},                               # no version
    {"version": 1, "mr_td": "00" * 47},                 # wrong length
    {"version": 1, "mr_td": "zz" * 48},                 # not hex
    {"version": 1, "rtmrs": ["00" * 48]},               # not four entries
    {"version": 1, "accepted_tcb_statuses": ["Fine"]},  # unknown status
    {"version": 1, "accepted_tcb_statuses": ["NoMatchingTcbLevel"]},
    {"version": 1, "advisory_waivers": [{"advisory_id": "X", "expires": "soon"}]},
    {"version": 1, "advisory_waivers": [{"advisory_id": "X", "expires": "2026-01-01", "extra": 1}]},
    {"version": 1, "crl_policy": "ignore"},
    {"version": 1, "minimum_qe_svn": -1},
    {"version": 1, "allow_debug": "no"},
    "not json {",
    [],
])
def test_bad_policy_documents_rejected(doc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TdxPolicyError) as info:
        TdxPolicy.from_json(doc if isinstance(doc, str) else json.dumps(doc))
    assert info.value.code == "tdx-bad-policy"


@pytest.mark.parametrize(("field", "check_id"), [
    ("mr_td", "policy.mrtd"), ("mr_seam", "policy.mrseam"), ("report_data", "policy.report_data"),
    ("mr_config_id", "policy.mrconfigid"), ("mr_owner", "policy.mrowner"),
])
def test_each_measurement_mismatch_fails_its_check(field: str, check_id: str) -> None:
    size = 64 if field == "report_data" else 48
    verdict = _run(TdxPolicy(**{field: b"\xAA" * size}))
    assert verdict.get(check_id).status is Status.FAIL
    assert not verdict.acceptable


@pytest.mark.parametrize("index", range(4))
def test_rtmr_mismatch(index: int) -> None:
    rtmrs = [None] * 4
    rtmrs[index] = b"\xAA" * 48
    verdict = _run(TdxPolicy(rtmrs=tuple(rtmrs)))
    assert verdict.get(f"policy.rtmr{index}").status is Status.FAIL


def test_any_mr_td_allow_list() -> None:
    quote = parse_quote(make_quote())
    assert _run(TdxPolicy(any_mr_td=(b"\0" * 48, quote.body.mr_td))).get("policy.mrtd").status is Status.PASS
    assert _run(TdxPolicy(any_mr_td=(b"\0" * 48,))).get("policy.mrtd").status is Status.FAIL


def test_debug_forbidden_unless_allowed() -> None:
    debug = make_quote(td_attributes=(1 | 1 << 28).to_bytes(8, "little"))
    assert _run(TdxPolicy(), debug).get("policy.debug").status is Status.FAIL
    assert _run(TdxPolicy(allow_debug=True), debug).get("policy.debug").status is Status.WARN


def test_xfam_fixed_bits_and_exact() -> None:
    bad = make_quote(xfam=(0x1).to_bytes(8, "little"))   # SSE missing
    assert _run(TdxPolicy(), bad).get("policy.xfam").status is Status.FAIL
    assert _run(TdxPolicy(xfam=bytes(8))).get("policy.xfam").status is Status.FAIL


def test_minimum_tee_tcb_svn_is_component_wise() -> None:
    # 06 01 03 vs minimum 05 02 00: component 1 is lower although the "integer" is higher
    verdict = _run(TdxPolicy(minimum_tee_tcb_svn=bytes([5, 2, 0]) + bytes(13)))
    assert verdict.get("policy.tee_tcb_svn").status is Status.FAIL
    assert "[1]" in verdict.get("policy.tee_tcb_svn").explanation


def test_qe_and_pce_minimums() -> None:
    verdict = _run(TdxPolicy(minimum_qe_svn=5, minimum_pce_svn=11))
    assert verdict.get("policy.qe_svn").status is Status.FAIL
    assert verdict.get("policy.pce_svn").status is Status.PASS


OUTDATED = [tcb_level((0,) * 16, 0, (0,) * 16, "OutOfDate", ("INTEL-SA-1", "INTEL-SA-2"))]


def _outdated_collateral():  # type: ignore[no-untyped-def]
    return make_collateral(tcb_info=make_tcb_info(levels=OUTDATED))


def test_outofdate_rejected_by_default_accepted_when_listed() -> None:
    verdict = _run(TdxPolicy(), collateral=_outdated_collateral())
    assert verdict.get("policy.tcb_status").status is Status.FAIL
    assert verdict.get("policy.advisories").status is Status.FAIL
    accepted = _run(TdxPolicy(accepted_tcb_statuses=("UpToDate", "OutOfDate")), collateral=_outdated_collateral())
    assert accepted.get("policy.tcb_status").status is Status.PASS
    assert accepted.get("policy.advisories").status is Status.WARN
    assert accepted.acceptable


def test_waivers_accept_until_they_expire() -> None:
    waivers = (AdvisoryWaiver("INTEL-SA-1", date(2025, 12, 31)), AdvisoryWaiver("intel-sa-2", date(2025, 12, 31)))
    policy = TdxPolicy(advisory_waivers=waivers)
    live = _run(policy, collateral=_outdated_collateral(), at=datetime(2025, 12, 31, 23, tzinfo=timezone.utc))
    assert live.get("policy.tcb_status").status is Status.PASS
    assert live.get("policy.advisories").status is Status.PASS
    expired = _run(policy, collateral=_outdated_collateral(), at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert expired.get("policy.tcb_status").status is Status.FAIL
    assert "waiver expired 2025-12-31" in expired.get("policy.advisories").actual


def test_partial_waiver_does_not_accept() -> None:
    policy = TdxPolicy(advisory_waivers=(AdvisoryWaiver("INTEL-SA-1", date(2030, 1, 1)),))
    verdict = _run(policy, collateral=_outdated_collateral())
    assert verdict.get("policy.tcb_status").status is Status.FAIL
    assert "INTEL-SA-2: not waived" in verdict.get("policy.advisories").actual


def test_no_matching_level_is_never_waivable() -> None:
    collateral = make_collateral(tcb_info=make_tcb_info(levels=[tcb_level((99,) * 16, 0, (0,) * 16, "UpToDate")]))
    verdict = _run(TdxPolicy(accepted_tcb_statuses=tuple(TdxPolicy().accepted_tcb_statuses)), collateral=collateral)
    assert verdict.get("policy.tcb_status").status is Status.FAIL
    assert verdict.get("policy.tcb_status").actual == "NoMatchingTcbLevel"


def test_unknown_tcb_status_fails() -> None:
    quote = parse_quote(make_quote())
    verdict = validate_tdx(quote, TdxPolicy(), verify_tdx(quote, None, at=EPOCH, trust=trust_for(default_pki())))
    assert verdict.get("policy.tcb_status").status is Status.FAIL
    assert verdict.get("policy.crl").status is Status.FAIL
    warn = validate_tdx(quote, TdxPolicy(crl_policy="warn"),
                        verify_tdx(quote, None, at=EPOCH, trust=trust_for(default_pki())))
    assert warn.get("policy.crl").status is Status.WARN


def test_minimum_eval_number() -> None:
    assert _run(TdxPolicy(minimum_tcb_eval_number=18)).get("policy.tcb_eval_number").status is Status.FAIL
    assert _run(TdxPolicy(minimum_tcb_eval_number=17)).get("policy.tcb_eval_number").status is Status.PASS


@pytest.mark.parametrize("kwargs", [
    {"rtmrs": (None, None)}, {"mr_td": b"\x00" * 47}, {"crl_policy": "maybe"},
    {"accepted_tcb_statuses": ("Fine",)}, {"minimum_qe_svn": -1},
])
def test_policy_built_in_code_is_checked_too(kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TdxPolicyError):
        TdxPolicy(**kwargs)
