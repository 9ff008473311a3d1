"""Verify a TDX quote (ATTESTATION.md §3.8): is it genuine evidence from an Intel TDX platform?

``verify_tdx`` walks §3.8 step by step and records one check per step in a Verdict (ids and
meanings in ``checks.CHECKS``). Authenticity failures are recorded as FAIL and verification goes
on wherever a later step still means something, so the inspector can show everything at once.
Whether the TD is *acceptable* is a separate question: see ``policy.validate_tdx``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509

from core.attestation.verdict import Status, Verdict

from .chain import PCK_CA_CNS, PCK_LEAF_CN, check_chain, check_crl
from .checks import check, hexs
from .collateral import TdxCollateral
from .crypto import is_p256, p256_key_from_raw, verify_raw
from .errors import TdxEvidenceError
from .pck import PckExtensions, load_pem_chain, pck_extensions
from .quote import INTEL_QE_VENDOR_ID, TdxQuote, parse_quote
from .roots import TdxTrust, default_trust
from .tcb import TcbEvaluation, evaluate_tcb, platform_identity_problems
from .verify_collateral import verify_collateral

__all__ = ["verify_tdx", "evaluate_quote_tcb"]


@dataclass(frozen=True, slots=True)
class _Pck:
    certs: tuple[x509.Certificate, ...]
    chain_ok: bool
    extensions: PckExtensions | None


def _utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc)
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _parse(quote: bytes | TdxQuote, verdict: Verdict) -> TdxQuote | None:
    if isinstance(quote, TdxQuote):
        parsed = quote
    else:
        try:
            parsed = parse_quote(quote)
        except TdxEvidenceError as exc:
            verdict.add(check("tdx.quote.parse", Status.FAIL, f"The quote cannot be read: {exc}.",
                              expected="a TDX quote v4 or v5", actual=exc.code))
            return None
    verdict.add(check(
        "tdx.quote.parse", Status.PASS, "The quote is a well-formed TDX quote.",
        expected="TDX quote v4 or v5",
        actual=f"v{parsed.header.version}, body type {parsed.body_type}, {len(parsed.raw)} bytes"
               + (f" (+{parsed.trailing_bytes} padding ignored)" if parsed.trailing_bytes else ""),
    ))
    return parsed


def _vendor(quote: TdxQuote, verdict: Verdict) -> None:
    ok = quote.header.qe_vendor_id == INTEL_QE_VENDOR_ID
    verdict.add(check("tdx.quote.vendor", Status.PASS if ok else Status.FAIL,
                      "The quote was produced by Intel's quoting enclave." if ok else
                      "The quote names a quoting enclave vendor other than Intel.",
                      expected=INTEL_QE_VENDOR_ID.hex(), actual=quote.header.qe_vendor_id.hex()))


def _pck_chain(quote: TdxQuote, trust: TdxTrust, at: datetime, verdict: Verdict) -> _Pck:
    try:
        certs = load_pem_chain(quote.auth_data.qe_certification.pck_chain_pem)
    except TdxEvidenceError as exc:
        verdict.add(check("tdx.pck.chain", Status.FAIL, f"The PCK certificate chain cannot be read: {exc}."))
        verdict.add(check("tdx.pck.validity", Status.SKIP, "No readable PCK chain."))
        verdict.add(check("tdx.pck.extension", Status.SKIP, "No readable PCK chain."))
        return _Pck((), False, None)
    report = check_chain(certs, [(PCK_LEAF_CN,), PCK_CA_CNS], trust, at)
    verdict.add(check(
        "tdx.pck.chain", Status.PASS if report.ok else Status.FAIL,
        f"The platform's PCK certificate chains to the {report.anchor.label}." if report.ok and report.anchor
        else "The PCK certificate chain is not valid: " + "; ".join(report.problems) + ".",
        expected="PCK certificate <- PCK Platform/Processor CA <- pinned root",
        actual="; ".join(report.problems) or " <- ".join(c.subject.rfc4514_string() for c in certs[:2]),
    ))
    verdict.add(check(
        "tdx.pck.validity", Status.FAIL if report.expired else Status.PASS,
        "A certificate of the PCK chain is outside its validity period." if report.expired
        else "Every PCK chain certificate is within its validity period.",
        expected=f"valid at {at:%Y-%m-%d %H:%M} UTC", actual="; ".join(report.expired) or "valid",
    ))
    try:
        ext = pck_extensions(certs[0])
    except TdxEvidenceError as exc:
        verdict.add(check("tdx.pck.extension", Status.FAIL, f"The PCK certificate cannot be read: {exc}."))
        ext = None
    else:
        verdict.add(check("tdx.pck.extension", Status.PASS, "The PCK certificate's SGX extension was read.",
                          actual=f"FMSPC {ext.fmspc.hex()}, PCE-ID {ext.pce_id.hex()}, "
                                 f"PCESVN {ext.tcb.pce_svn}, SGX SVNs {list(ext.tcb.sgx_tcb_components)}"))
    return _Pck(certs, report.ok, ext)


def _crls(pck: _Pck, collateral: TdxCollateral | None, at: datetime, verdict: Verdict) -> None:
    if not pck.chain_ok:
        for cid in ("tdx.root.crl", "tdx.pck.crl", "tdx.crl.validity"):
            verdict.add(check(cid, Status.SKIP, "The PCK chain is not valid, so revocation was not checked."))
        return
    leaf, ca, root = pck.certs
    stale: list[str] = []
    for cid, crl, issuer, subject, what in (
        ("tdx.root.crl", collateral.root_crl if collateral else None, root, ca, "Root CA CRL"),
        ("tdx.pck.crl", collateral.pck_crl if collateral else None, ca, leaf, "PCK CRL"),
    ):
        if crl is None:
            verdict.add(check(cid, Status.WARN, f"No {what} was supplied, so revocation of "
                              f"{'the PCK CA' if cid == 'tdx.root.crl' else 'the PCK certificate'} is unknown.",
                              expected=f"a {what}", actual="missing"))
            continue
        report = check_crl(crl, issuer, subject, at, what)
        stale.extend(report.stale)
        problems = list(report.problems) + (["it lists the certificate as revoked"] if report.revoked else [])
        verdict.add(check(
            cid, Status.FAIL if problems else Status.PASS,
            f"The {what} check failed: " + "; ".join(problems) + "." if problems
            else f"The {what} is authentic and does not revoke the certificate.",
            expected=f"signed by {issuer.subject.rfc4514_string()}, serial {subject.serial_number:x} not listed",
            actual="; ".join(problems) or "not revoked",
        ))
    have_crl = collateral is not None and (collateral.root_crl is not None or collateral.pck_crl is not None)
    verdict.add(check(
        "tdx.crl.validity", Status.FAIL if stale else (Status.PASS if have_crl else Status.SKIP),
        "A CRL is out of date at the verification time; fetch fresh CRLs." if stale
        else "The CRLs are current." if have_crl else "No CRL was supplied.",
        expected=f"current at {at:%Y-%m-%d %H:%M} UTC",
        actual="; ".join(stale) or ("current" if have_crl else "no CRL"),
    ))


def _quote_signature(quote: TdxQuote, verdict: Verdict) -> None:
    auth = quote.auth_data
    key = p256_key_from_raw(auth.attestation_key)
    ok = key is not None and verify_raw(key, auth.signature, quote.signed_region)
    verdict.add(check(
        "tdx.signature", Status.PASS if ok else Status.FAIL,
        "The quote's contents are signed by its attestation key." if ok else
        "The quote's signature does not match its contents: the quote was altered or forged.",
        expected=f"ECDSA P-256 over bytes 0..{quote.signed_region_end}",
        actual="valid" if ok else ("attestation key is not a P-256 point" if key is None else "invalid"),
    ))


def _qe(quote: TdxQuote, pck: _Pck, verdict: Verdict) -> None:
    qe = quote.auth_data.qe_certification
    if not pck.certs:
        verdict.add(check("tdx.qe.signature", Status.FAIL, "No PCK key to check the QE report with."))
    else:
        key = pck.certs[0].public_key()
        ok = is_p256(key) and verify_raw(key, qe.qe_report_signature, qe.qe_report.raw)  # type: ignore[arg-type]
        verdict.add(check(
            "tdx.qe.signature", Status.PASS if ok else Status.FAIL,
            "The quoting enclave's report is signed by the platform's PCK key." if ok else
            "The quoting enclave's report is not signed by the PCK key: it was altered or comes from another platform.",
            expected="ECDSA P-256 by the PCK certificate key", actual="valid" if ok else "invalid",
        ))
    expected = hashlib.sha256(quote.auth_data.attestation_key + qe.qe_auth_data).digest() + bytes(32)
    ok = qe.qe_report.report_data == expected
    verdict.add(check(
        "tdx.qe.binding", Status.PASS if ok else Status.FAIL,
        "The quoting enclave vouches for the key that signed the quote." if ok else
        "The quoting enclave's report does not vouch for the quote's attestation key.",
        expected=hexs(expected), actual=hexs(qe.qe_report.report_data),
    ))


def _debug(quote: TdxQuote, verdict: Verdict) -> None:
    attrs = quote.body.attributes
    verdict.add(check(
        "tdx.debug", Status.WARN if attrs.debug else Status.PASS,
        "This is a DEBUG TD: the host can read and change its memory; never send secrets to it."
        if attrs.debug else "The TD is not in debug mode.",
        expected="DEBUG = 0", actual=f"TD_ATTRIBUTES {quote.body.td_attributes.hex()} ({attrs.describe()})",
    ))


def verify_tdx(
    quote: bytes | TdxQuote,
    collateral: TdxCollateral | None,
    *,
    at: datetime | None = None,
    trust: TdxTrust | None = None,
    verdict: Verdict | None = None,
) -> Verdict:
    """Check a TDX quote's authenticity (§3.8 steps 1-8) at time ``at`` (default: now)."""
    verdict = verdict if verdict is not None else Verdict(platform="tdx")
    at = _utc(at)
    trust = trust or default_trust()
    parsed = _parse(quote, verdict)
    if parsed is None:
        return verdict
    _vendor(parsed, verdict)
    pck = _pck_chain(parsed, trust, at, verdict)
    _crls(pck, collateral, at, verdict)
    _quote_signature(parsed, verdict)
    _qe(parsed, pck, verdict)
    if collateral is None:
        for cid in ("tdx.tcbinfo.signature", "tdx.qeidentity.signature", "tdx.tcb.status"):
            verdict.add(check(cid, Status.SKIP, "No collateral was supplied, so the TCB status is unknown."))
    else:
        verify_collateral(verdict, parsed, pck.extensions, collateral, trust, at)
    _debug(parsed, verdict)
    return verdict


def evaluate_quote_tcb(quote: TdxQuote, collateral: TdxCollateral | None) -> TcbEvaluation | None:
    """The TCB evaluation for the policy step, or None when the collateral does not apply.

    Raises TdxEvidenceError when the quote's PCK certificate cannot be read.
    """
    if collateral is None or collateral.tcb_info is None:
        return None
    certs = load_pem_chain(quote.auth_data.qe_certification.pck_chain_pem)
    ext = pck_extensions(certs[0])
    if platform_identity_problems(collateral.tcb_info.tcb_info, ext):
        return None
    return evaluate_tcb(
        quote.body, ext, collateral.tcb_info.tcb_info, quote.auth_data.qe_certification.qe_report,
        collateral.qe_identity.qe_identity if collateral.qe_identity else None,
    )
