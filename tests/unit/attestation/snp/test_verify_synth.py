"""The verifier on self-made evidence (runs without the shared corpus)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.attestation.roots import TrustStore
from core.attestation.snp.verify import verify_snp
from core.attestation.snp.tcb import Product, TcbVersion
from core.attestation.verdict import Status

from .synth import AT, CHIP_ID, EPOCH, MILAN_TCB, build_report, synth_crl, synth_leaf


def _fails(verdict) -> set[str]:
    return {c.id for c in verdict.failures()}


def test_synthetic_milan_evidence_verifies(milan_report, milan_vcek, milan_chain, sandbox_trust):
    verdict = verify_snp(milan_report, vcek=milan_vcek, chain=milan_chain.vcek_chain, trust=sandbox_trust,
                         at=AT, crl=synth_crl(milan_chain))
    assert verdict.authentic and _fails(verdict) == set()
    assert verdict.get("snp.chain.ark").status is Status.WARN  # sandbox, not AMD: always visible
    for check_id in ("snp.signature", "snp.chain.ask", "snp.chain.vcek", "snp.tcb.match", "snp.chip_id",
                     "snp.crl", "snp.validity", "snp.product", "snp.signer"):
        assert verdict.get(check_id).status is Status.PASS, check_id


def test_synthetic_turin_evidence_verifies(turin_report, turin_vcek, turin_chain, sandbox_trust):
    verdict = verify_snp(turin_report, vcek=turin_vcek, chain=turin_chain.vcek_chain, trust=sandbox_trust, at=AT)
    assert verdict.authentic and verdict.get("snp.chip_id").status is Status.PASS
    assert verdict.get("snp.tcb.match").actual.startswith("fmc 1")


def test_without_trusting_the_sandbox_the_chain_fails(milan_report, milan_vcek, milan_chain):
    verdict = verify_snp(milan_report, vcek=milan_vcek, chain=milan_chain.vcek_chain, at=AT)
    assert not verdict.authentic and "snp.chain.ask" in _fails(verdict)
    ark = verdict.get("snp.chain.ark")
    assert ark.status is Status.WARN
    # the supplied root is named ARK-Milan, but it is not AMD's: say which root was used instead
    assert "checked against AMD's ARK-Milan built into this app" in ark.explanation
    assert "supplied its own root named 'ARK-Milan'" in ark.explanation and "which is not AMD's" in ark.explanation
    assert "The root certificate is AMD's own" not in ark.explanation
    assert ark.actual.startswith("used AMD pinned root 'ARK-Milan'") and "ignored supplied root" in ark.actual


def test_a_trusted_sandbox_root_is_named_as_the_one_used(milan_report, milan_vcek, milan_chain, sandbox_trust):
    verdict = verify_snp(milan_report, vcek=milan_vcek, chain=milan_chain.vcek_chain, trust=sandbox_trust, at=AT)
    ark = verdict.get("snp.chain.ark")
    assert ark.status is Status.WARN and "sandbox root 'ARK-Milan' that you chose to trust" in ark.explanation
    assert "ignored" not in ark.explanation and ark.actual.startswith("used sandbox root 'ARK-Milan'")


def test_trailing_bytes_verify_with_a_warning(milan_report, milan_vcek, milan_chain, sandbox_trust):
    plain = verify_snp(milan_report, vcek=milan_vcek, chain=milan_chain.vcek_chain, trust=sandbox_trust, at=AT)
    assert plain.get("snp.report.trailing") is None
    padded = verify_snp(milan_report + bytes(20), vcek=milan_vcek, chain=milan_chain.vcek_chain,
                        trust=sandbox_trust, at=AT)
    assert padded.authentic and _fails(padded) == set()
    trailing = padded.get("snp.report.trailing")
    assert trailing.status is Status.WARN and "20 more byte(s)" in trailing.explanation
    assert trailing.actual == "20 trailing bytes ignored"
    short = verify_snp(milan_report[:-1], vcek=milan_vcek, chain=milan_chain.vcek_chain, trust=sandbox_trust, at=AT)
    assert _fails(short) == {"snp.report.parse"} and "1183" in short.get("snp.report.parse").explanation


def test_vlek_evidence_and_substitution(milan_chain, sandbox_trust):
    vlek = synth_leaf(milan_chain, MILAN_TCB, kind="VLEK", csp_id="CN=cloud.example", key_label="vlek")
    report = build_report(reported_tcb=MILAN_TCB, signing_key=1, chip_id=bytes(64), key_label="vlek")
    good = verify_snp(report, vcek=vlek, chain=milan_chain.vlek_chain, trust=sandbox_trust, at=AT)
    assert good.authentic and good.get("snp.chip_id").status is Status.SKIP
    swapped = verify_snp(report, vcek=vlek, chain=milan_chain.vcek_chain, trust=sandbox_trust, at=AT)
    assert _fails(swapped) == {"snp.chain.vlek"}


def test_leaf_kind_must_match_the_signing_key(milan_report, milan_chain, sandbox_trust):
    vlek = synth_leaf(milan_chain, MILAN_TCB, kind="VLEK", csp_id="CN=cloud.example")
    verdict = verify_snp(milan_report, vcek=vlek, chain=milan_chain.vlek_chain, trust=sandbox_trust, at=AT)
    assert "snp.signer" in _fails(verdict)


def test_unsigned_report_is_rejected(milan_vcek, milan_chain, sandbox_trust):
    report = build_report(reported_tcb=MILAN_TCB, signing_key=7)
    verdict = verify_snp(report, vcek=milan_vcek, chain=milan_chain.vcek_chain, trust=sandbox_trust, at=AT)
    assert _fails(verdict) == {"snp.signer"} and not verdict.authentic


def test_missing_vcek_is_a_failure_not_an_exception(milan_report):
    verdict = verify_snp(milan_report, vcek=None, at=AT)
    assert _fails(verdict) == {"snp.chain.vcek"}


def test_tcb_and_chip_binding(milan_chain, sandbox_trust):
    newer = TcbVersion.from_components(bootloader=4, tee=0, snp=25, microcode=219)
    leaf = synth_leaf(milan_chain, newer, hw_id=bytes(reversed(CHIP_ID)))
    report = build_report(reported_tcb=MILAN_TCB)
    verdict = verify_snp(report, vcek=leaf, chain=milan_chain.vcek_chain, trust=sandbox_trust, at=AT)
    assert {"snp.tcb.match", "snp.tcb.current", "snp.chip_id"} <= _fails(verdict)
    assert "snp: certificate 25, report 24" in verdict.get("snp.tcb.match").explanation


def test_validity_is_checked_at_the_given_time(milan_report, milan_vcek, milan_chain, sandbox_trust):
    early = verify_snp(milan_report, vcek=milan_vcek, chain=milan_chain.vcek_chain, trust=sandbox_trust,
                       at=EPOCH - timedelta(days=1))
    assert _fails(early) == {"snp.validity"} and "not valid before" in early.get("snp.validity").explanation


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"revoked": (65537,)}, "was revoked"),
    ({"last_update": EPOCH - timedelta(days=90)}, "out of date"),
    ({"signer": "ask"}, "not signed by the root"),
])
def test_crl_failures(milan_report, milan_vcek, milan_chain, sandbox_trust, kwargs, message):
    if kwargs.get("signer") == "ask":
        kwargs = {"signer": milan_chain.ask_key}
    crl = synth_crl(milan_chain, **kwargs)
    verdict = verify_snp(milan_report, vcek=milan_vcek, chain=milan_chain.vcek_chain, trust=sandbox_trust,
                         at=AT, crl=crl)
    assert _fails(verdict) == {"snp.crl"} and message in verdict.get("snp.crl").explanation


def test_product_mismatch_between_report_and_chain(turin_report, turin_vcek, milan_chain, sandbox_trust):
    verdict = verify_snp(turin_report, vcek=turin_vcek, chain=milan_chain.vcek_chain, trust=sandbox_trust, at=AT)
    assert {"snp.product", "snp.chain.vcek"} <= _fails(verdict)


def test_debug_is_a_warning_without_policy(milan_vcek, milan_chain, sandbox_trust):
    report = build_report(reported_tcb=MILAN_TCB, policy=0xB0000)
    verdict = verify_snp(report, vcek=milan_vcek, chain=milan_chain.vcek_chain, trust=sandbox_trust, at=AT)
    assert verdict.authentic and verdict.get("snp.debug").status is Status.WARN


def test_v2_report_takes_product_from_the_vcek(milan_vcek, milan_chain, sandbox_trust):
    report = build_report(version=2, reported_tcb=MILAN_TCB)
    verdict = verify_snp(report, vcek=milan_vcek, chain=milan_chain.vcek_chain, trust=sandbox_trust, at=AT)
    assert verdict.authentic and verdict.get("snp.product").expected == Product.MILAN.value


def test_a_flipped_report_never_verifies(milan_report, milan_vcek, milan_chain, sandbox_trust):
    for offset in (0x50, 0x90, 0x180, 0x1A0, 0x2A0):
        mutated = bytearray(milan_report)
        mutated[offset] ^= 0x01
        verdict = verify_snp(bytes(mutated), vcek=milan_vcek, chain=milan_chain.vcek_chain,
                             trust=sandbox_trust, at=AT)
        assert "snp.signature" in _fails(verdict), hex(offset)


def test_pinned_roots_alone_never_vouch_for_synthetic_evidence(milan_report, milan_vcek):
    verdict = verify_snp(milan_report, vcek=milan_vcek, trust=TrustStore(), at=AT)
    assert "snp.chain.vcek" in _fails(verdict)
