"""The verifier end to end on synthetic evidence (fresh machine: no shared corpus needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.attestation.tdx.collateral import TdxCollateral, parse_tcb_info
from core.attestation.tdx.roots import PinnedRootError, TdxTrust
from core.attestation.tdx.verify import verify_tdx
from core.attestation.verdict import Status, Verdict

from .synth import (
    EPOCH,
    default_pki,
    make_collateral,
    make_pki,
    make_qe_identity,
    make_quote,
    make_tcb_info,
    pem_chain,
    tcb_level,
    trust_for,
)


def _verify(quote: bytes | None = None, collateral: TdxCollateral | None = None, **kw) -> Verdict:  # type: ignore[no-untyped-def]
    pki = default_pki()
    collateral = collateral if collateral is not None else make_collateral(pki)
    return verify_tdx(quote or make_quote(pki), collateral, at=kw.pop("at", EPOCH),
                      trust=kw.pop("trust", trust_for(pki)), **kw)


@pytest.mark.parametrize(("version", "body_type"), [(4, 2), (5, 2), (5, 3)])
def test_synthetic_quotes_verify_fully(version: int, body_type: int) -> None:
    verdict = _verify(make_quote(version=version, body_type=body_type))
    assert verdict.failures() == [] and verdict.authentic
    assert [c for c in verdict.checks if c.status is not Status.PASS] == []
    assert verdict.get("tdx.tcb.status").actual.startswith("UpToDate")


def test_synthetic_root_is_not_trusted_by_default() -> None:
    verdict = verify_tdx(make_quote(), make_collateral(), at=EPOCH)
    assert verdict.get("tdx.pck.chain").status is Status.FAIL
    assert verdict.get("tdx.tcbinfo.signature").status is Status.FAIL
    assert not verdict.authentic


def test_extra_root_needs_explicit_enabling() -> None:
    with pytest.raises(PinnedRootError) as info:
        TdxTrust.with_extra_root(default_pki().root, label="x", explicitly_enabled=False)
    assert info.value.code == "tdx-extra-root-disabled"


def test_qe_report_not_signed_by_the_chains_pck_fails() -> None:
    pki, other = default_pki(), make_pki()
    # a valid chain (of another platform) next to a QE report signed by this platform's PCK key
    raw = make_quote(pki, chain=pem_chain(other.pck, other.ca, other.root))
    verdict = verify_tdx(raw, make_collateral(other), at=EPOCH, trust=trust_for(other))
    assert verdict.get("tdx.pck.chain").status is Status.PASS
    assert verdict.get("tdx.qe.signature").status is Status.FAIL
    assert verdict.get("tdx.signature").status is Status.PASS
    assert not verdict.authentic


def test_revoked_pck_and_ca_are_rejected() -> None:
    pki = default_pki()
    verdict = _verify(collateral=make_collateral(pki, revoked_pck=(pki.pck.serial_number,)))
    assert verdict.get("tdx.pck.crl").status is Status.FAIL
    assert "revoked" in verdict.get("tdx.pck.crl").actual
    verdict = _verify(collateral=make_collateral(pki, revoked_ca=(pki.ca.serial_number,)))
    assert verdict.get("tdx.root.crl").status is Status.FAIL


def test_crl_signed_by_wrong_key_is_rejected() -> None:
    pki, other = default_pki(), make_pki()
    from .synth import make_crl
    forged = make_crl(pki.ca, other.ca_key)
    verdict = _verify(collateral=TdxCollateral(pck_crl=forged).merged_with(make_collateral(pki)))
    assert verdict.get("tdx.pck.crl").status is Status.FAIL
    assert "not signed" in verdict.get("tdx.pck.crl").actual


def test_missing_crls_warn_and_keep_authenticity() -> None:
    pki = default_pki()
    full = make_collateral(pki)
    no_crl = TdxCollateral(tcb_info=full.tcb_info, qe_identity=full.qe_identity,
                           tcb_info_issuer_chain=full.tcb_info_issuer_chain,
                           qe_identity_issuer_chain=full.qe_identity_issuer_chain)
    verdict = _verify(collateral=no_crl)
    assert verdict.get("tdx.pck.crl").status is Status.WARN
    assert verdict.get("tdx.root.crl").status is Status.WARN
    assert verdict.authentic


def test_tampered_tcb_info_body_fails_signature() -> None:
    doc = make_tcb_info()
    tampered = doc.replace(b'"tcbEvaluationDataNumber": 17', b'"tcbEvaluationDataNumber": 18')
    assert tampered != doc
    verdict = _verify(collateral=make_collateral(tcb_info=tampered))
    assert verdict.get("tdx.tcbinfo.signature").status is Status.FAIL


def test_tcb_info_signed_by_untrusted_key_fails() -> None:
    other = make_pki()
    verdict = _verify(collateral=make_collateral(tcb_info=make_tcb_info(other)))
    assert verdict.get("tdx.tcbinfo.signature").status is Status.FAIL
    assert verdict.get("tdx.qeidentity.signature").status is Status.PASS


def test_collateral_expiry_is_its_own_check() -> None:
    later = EPOCH + timedelta(days=45)
    verdict = _verify(at=later)
    assert verdict.get("tdx.tcbinfo.validity").status is Status.FAIL
    assert verdict.get("tdx.qeidentity.validity").status is Status.FAIL
    assert verdict.get("tdx.crl.validity").status is Status.FAIL
    assert verdict.get("tdx.signature").status is Status.PASS


def test_expired_pck_certificate() -> None:
    pki = make_pki(pck_not_after=EPOCH - timedelta(days=1))
    verdict = verify_tdx(make_quote(pki), make_collateral(pki), at=EPOCH, trust=trust_for(pki))
    assert verdict.get("tdx.pck.validity").status is Status.FAIL
    assert verdict.get("tdx.pck.chain").status is Status.PASS


def test_no_collateral_skips_tcb() -> None:
    pki = default_pki()
    verdict = verify_tdx(make_quote(pki), None, at=EPOCH, trust=trust_for(pki))
    assert verdict.get("tdx.tcb.status").status is Status.SKIP
    assert verdict.get("tdx.pck.crl").status is Status.WARN
    assert verdict.authentic


@pytest.mark.parametrize(("levels", "status", "check"), [
    ([tcb_level((9,) * 16, 11, (0,) * 16, "UpToDate")], "NoMatchingTcbLevel", Status.FAIL),
    ([tcb_level((0,) * 16, 0, (0,) * 16, "SWHardeningNeeded", ("INTEL-SA-1",))], "SWHardeningNeeded", Status.WARN),
    ([tcb_level((0,) * 16, 0, (0,) * 16, "ConfigurationNeeded")], "ConfigurationNeeded", Status.WARN),
    ([tcb_level((0,) * 16, 0, (0,) * 16, "Revoked")], "Revoked", Status.FAIL),
    ([tcb_level((0,) * 16, 12, (0,) * 16, "UpToDate"), tcb_level((0,) * 16, 0, (0,) * 16, "OutOfDate")],
     "OutOfDate", Status.WARN),
])
def test_tcb_status_outcomes(levels, status: str, check: Status) -> None:  # type: ignore[no-untyped-def]
    verdict = _verify(collateral=make_collateral(tcb_info=make_tcb_info(levels=levels)))
    got = verdict.get("tdx.tcb.status")
    assert got.status is check and got.actual.split(";")[0] == status


def test_old_qe_folds_into_status() -> None:
    qe = make_qe_identity(levels=[
        {"tcb": {"isvsvn": 8}, "tcbDate": "2025-01-01T00:00:00Z", "tcbStatus": "UpToDate"},
        {"tcb": {"isvsvn": 2}, "tcbDate": "2024-01-01T00:00:00Z", "tcbStatus": "OutOfDate"}])
    verdict = _verify(collateral=make_collateral(qe_identity=qe))
    assert verdict.get("tdx.qe.identity").status is Status.WARN
    assert verdict.get("tdx.tcb.status").actual.startswith("OutOfDate")


def test_wrong_qe_signer_fails_identity() -> None:
    doc = make_qe_identity().replace(b"DC9E2A7C", b"DC9E2A7D")
    verdict = _verify(collateral=make_collateral(qe_identity=doc))
    assert verdict.get("tdx.qe.identity").status is Status.FAIL
    assert "MRSIGNER" in verdict.get("tdx.qe.identity").explanation


def test_wrong_fmspc_tcb_info() -> None:
    tcb = make_tcb_info(fmspc=bytes.fromhex("00806f050000"))
    assert parse_tcb_info(tcb).tcb_info.fmspc.hex() == "00806f050000"
    verdict = _verify(collateral=make_collateral(tcb_info=tcb))
    assert verdict.get("tdx.tcbinfo.platform").status is Status.FAIL
    assert verdict.get("tdx.tcb.status").status is Status.FAIL


def test_module_signer_mismatch() -> None:
    verdict = _verify(make_quote(mr_signer_seam=b"\x01" * 48))
    assert verdict.get("tdx.tdx_module").status is Status.FAIL


def test_debug_td_warns_at_verification() -> None:
    verdict = _verify(make_quote(td_attributes=(1 | 1 << 28).to_bytes(8, "little")))
    assert verdict.get("tdx.debug").status is Status.WARN and verdict.authentic
