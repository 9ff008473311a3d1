"""Collateral checks of a TDX verification (§3.8 steps 7-8): signatures, freshness, TCB status.

Called by ``verify.verify_tdx`` once the quote itself has been checked. Each step appends one
check to the Verdict; nothing here raises for bad collateral content.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509

from core.attestation.verdict import Status, Verdict

from .chain import TCB_SIGNING_CN, check_chain
from .checks import check
from .collateral import SignedQeIdentity, SignedTcbInfo, TdxCollateral
from .crypto import verify_raw_cached
from .pck import PckExtensions
from .quote import TdxQuote
from .roots import TdxTrust
from .tcb import (
    NO_MATCHING_TCB_LEVEL,
    TcbEvaluation,
    evaluate_tcb,
    match_qe_level,
    module_problems,
    platform_identity_problems,
    qe_identity_problems,
)

_WARN_STATUSES = {
    "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
    "OutOfDate", "OutOfDateConfigurationNeeded",
}


def _status_of(tcb_status: str) -> Status:
    if tcb_status == "UpToDate":
        return Status.PASS
    return Status.WARN if tcb_status in _WARN_STATUSES else Status.FAIL


def _signed_object(
    verdict: Verdict,
    name: str,
    label: str,
    signed: SignedTcbInfo | SignedQeIdentity | None,
    chain: Sequence[x509.Certificate],
    trust: TdxTrust,
    at: datetime,
    root_crl: x509.CertificateRevocationList | None,
) -> bool:
    """``tdx.<name>.signature`` and ``tdx.<name>.validity``; True when the signature holds."""
    sig_id, val_id = f"tdx.{name}.signature", f"tdx.{name}.validity"
    if signed is None:
        for cid in (sig_id, val_id):
            verdict.add(check(cid, Status.SKIP, f"no {label} was supplied, so it was not checked"))
        return False
    report = check_chain(chain, [(TCB_SIGNING_CN,)], trust, at) if chain else None
    problems = list(report.problems) if report else [f"no issuer chain was supplied for the {label}"]
    if report and report.ok:
        if not verify_raw_cached(chain[0], signed.signature, signed.body):
            problems.append(f"the signature does not match the {label} bytes as served")
        if root_crl is not None and root_crl.get_revoked_certificate_by_serial_number(chain[0].serial_number):
            problems.append("the TCB signing certificate is revoked by the Root CA CRL")
    verdict.add(check(
        sig_id, Status.FAIL if problems else Status.PASS,
        f"The {label} is {'NOT ' if problems else ''}signed by Intel's TCB signing key."
        + (" " + "; ".join(problems) + "." if problems else ""),
        expected=f"signed by {TCB_SIGNING_CN}, chained to a pinned root",
        actual="; ".join(problems) or f"valid ({report.anchor.label if report and report.anchor else ''})",
    ))
    body = signed.tcb_info if isinstance(signed, SignedTcbInfo) else signed.qe_identity
    stale = list(report.expired) if report else []
    if not body.issue_date <= at <= body.next_update:
        stale.insert(0, f"the {label} is current {body.issue_date:%Y-%m-%d %H:%M} to "
                        f"{body.next_update:%Y-%m-%d %H:%M} UTC")
    verdict.add(check(
        val_id, Status.FAIL if stale else Status.PASS,
        f"The {label} is {'out of date' if stale else 'current'} at {at:%Y-%m-%d %H:%M} UTC"
        + ("; fetch fresh collateral so an old one cannot be replayed." if stale else "."),
        expected=f"issued before and valid after {at:%Y-%m-%d %H:%M} UTC",
        actual="; ".join(stale) or f"valid until {body.next_update:%Y-%m-%d %H:%M} UTC",
    ))
    return not problems


def _platform(verdict: Verdict, signed: SignedTcbInfo, pck: PckExtensions | None) -> bool:
    if pck is None:
        verdict.add(check("tdx.tcbinfo.platform", Status.SKIP,
                          "The PCK certificate could not be read, so the platform is unknown."))
        return False
    problems = platform_identity_problems(signed.tcb_info, pck)
    verdict.add(check(
        "tdx.tcbinfo.platform", Status.FAIL if problems else Status.PASS,
        "The TCB Info is for another platform; fetch the TCB Info for this FMSPC."
        if problems else "The TCB Info describes this platform.",
        expected=f"FMSPC {signed.tcb_info.fmspc.hex()}, PCE-ID {signed.tcb_info.pce_id.hex()}",
        actual=f"FMSPC {pck.fmspc.hex()}, PCE-ID {pck.pce_id.hex()}",
    ))
    return not problems


def _module(verdict: Verdict, quote: TdxQuote, signed: SignedTcbInfo) -> None:
    problems = module_problems(signed.tcb_info, quote.body)
    verdict.add(check(
        "tdx.tdx_module", Status.FAIL if problems else Status.PASS,
        "The TDX module is not the one Intel signs." if problems else "The TDX module is Intel's.",
        expected=f"MRSIGNERSEAM {signed.tcb_info.tdx_module.mrsigner.hex()}",
        actual="; ".join(problems) or f"MRSIGNERSEAM {quote.body.mr_signer_seam.hex()}",
    ))


def _qe_identity(verdict: Verdict, quote: TdxQuote, signed: SignedQeIdentity | None) -> None:
    if signed is None:
        verdict.add(check("tdx.qe.identity", Status.SKIP, "No QE Identity was supplied."))
        return
    report = quote.auth_data.qe_certification.qe_report
    problems = qe_identity_problems(signed.qe_identity, report)
    level = match_qe_level(signed.qe_identity, report)
    qe_status = level.tcb_status if level else NO_MATCHING_TCB_LEVEL
    status = Status.FAIL if problems else _status_of(qe_status)
    verdict.add(check(
        "tdx.qe.identity", status,
        ("The quoting enclave is not Intel's TD QE: " + "; ".join(problems) + ".") if problems
        else f"The quoting enclave is Intel's TD QE (ISVSVN {report.isv_svn}), status {qe_status}.",
        expected=f"MRSIGNER {signed.qe_identity.mrsigner.hex()}, ISVPRODID {signed.qe_identity.isvprodid}",
        actual=f"MRSIGNER {report.mr_signer.hex()}, ISVPRODID {report.isv_prod_id}, "
               f"ISVSVN {report.isv_svn}, {qe_status}",
    ))


def describe_evaluation(ev: TcbEvaluation) -> str:
    parts = [ev.status, f"platform {ev.platform_status}"]
    if ev.module_identity_id:
        parts.append(f"module {ev.module_identity_id} {ev.module_status}")
    if ev.qe_status:
        parts.append(f"QE {ev.qe_status}")
    if ev.tcb_date:
        parts.append(f"TCB date {ev.tcb_date:%Y-%m-%d}")
    if ev.advisory_ids:
        parts.append("advisories " + ", ".join(ev.advisory_ids))
    return "; ".join(parts)


_EXPLAIN = {
    "UpToDate": "The platform's firmware, microcode and TDX module are up to date.",
    NO_MATCHING_TCB_LEVEL: "No TCB level in the TCB Info matches this platform: its firmware is "
    "older than anything Intel still lists, or the TCB Info is for another time.",
    "Revoked": "Intel has revoked this platform's TCB level.",
}


def _tcb_status(verdict: Verdict, quote: TdxQuote, collateral: TdxCollateral,
                pck: PckExtensions | None, platform_ok: bool) -> None:
    assert collateral.tcb_info is not None
    if pck is None or not platform_ok:
        verdict.add(check("tdx.tcb.status", Status.FAIL,
                          "The TCB status cannot be determined: the TCB Info does not apply to this "
                          "platform (or the PCK certificate is unreadable).",
                          expected="a matching TCB level", actual="not evaluated"))
        return
    ev = evaluate_tcb(
        quote.body, pck, collateral.tcb_info.tcb_info, quote.auth_data.qe_certification.qe_report,
        collateral.qe_identity.qe_identity if collateral.qe_identity else None,
    )
    explanation = _EXPLAIN.get(
        ev.status,
        f"The platform is at TCB status {ev.status}: it works, but Intel lists fixes it lacks; "
        "the policy decides whether that is acceptable.",
    )
    verdict.add(check("tdx.tcb.status", _status_of(ev.status), explanation,
                      expected="UpToDate", actual=describe_evaluation(ev)))


def verify_collateral(
    verdict: Verdict,
    quote: TdxQuote,
    pck: PckExtensions | None,
    collateral: TdxCollateral,
    trust: TdxTrust,
    at: datetime,
) -> None:
    _signed_object(verdict, "tcbinfo", "TCB Info", collateral.tcb_info,
                   collateral.tcb_info_issuer_chain, trust, at, collateral.root_crl)
    _signed_object(verdict, "qeidentity", "QE Identity", collateral.qe_identity,
                   collateral.qe_identity_issuer_chain, trust, at, collateral.root_crl)
    _qe_identity(verdict, quote, collateral.qe_identity)
    if collateral.tcb_info is None:
        for cid in ("tdx.tcbinfo.platform", "tdx.tdx_module", "tdx.tcb.status"):
            verdict.add(check(cid, Status.SKIP, "No TCB Info was supplied, so the TCB status is unknown."))
        return
    platform_ok = _platform(verdict, collateral.tcb_info, pck)
    _module(verdict, quote, collateral.tcb_info)
    _tcb_status(verdict, quote, collateral, pck, platform_ok)
