"""Is this SNP report authentic? (ATTESTATION.md §2.8 "verify", §2.2, §2.6 binding rules)

``verify_snp`` never raises for a forged, altered or mismatched report: each finding is a Check
(ids and meanings in ``checks.VERIFY_CHECKS``) and checking continues where the remaining checks
still tell the user something. Acceptability under a policy is ``policy.validate_snp``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from core.attestation.roots import TrustStore
from core.attestation.snp.bits import SigningKey
from core.attestation.snp.certs import CertRole, VekExtensions
from core.attestation.snp.chain import check_chain
from core.attestation.snp.checks import verify_check
from core.attestation.snp.report import AttestationReport, parse_report
from core.attestation.verdict import Verdict
from core.errors import EvidenceError

_ECDSA_SHA384 = ec.ECDSA(hashes.SHA384())


def verify_snp(report: AttestationReport | bytes, *, vcek: x509.Certificate | None,
               chain: list[x509.Certificate] | None = None, trust: TrustStore | None = None,
               at: datetime | None = None, crl: x509.CertificateRevocationList | None = None,
               verdict: Verdict | None = None) -> Verdict:
    """Verify a report (raw bytes or parsed) against its VCEK or VLEK (``vcek``) and the AMD chain.

    ``chain`` holds CA certificates that came with the evidence (any order; identified by name);
    missing ones come from the pinned set in ``trust``. ``at`` fixes the time for validity checks.
    """
    verdict = verdict if verdict is not None else Verdict(platform="snp")
    parsed = _parse(verdict, report)
    if parsed is None:
        return verdict
    if not _check_signer_present(verdict, parsed):
        return verdict
    if vcek is None:
        verdict.add(verify_check(
            "snp.chain.vcek", False,
            "No VCEK or VLEK certificate was supplied, so the report's signature cannot be checked. "
            "Fetch the VCEK from AMD KDS using the report's REPORTED_TCB."))
        return verdict
    outcome = check_chain(verdict, vcek, chain=chain, trust=trust or TrustStore(),
                          at=at or datetime.now(timezone.utc), crl=crl,
                          product=parsed.product if parsed.product_source in ("cpuid", "given") else None,
                          product_source=parsed.product_source)
    if outcome.product is not None and outcome.product is not parsed.product:
        # v2 reports do not name their product; decode the TCB layout for the one we resolved.
        parsed = parse_report(parsed.raw, product=outcome.product)
    _check_signer_matches(verdict, parsed, outcome.leaf_role)
    check_signature(verdict, parsed, vcek)
    if outcome.extensions is not None:
        _check_tcb(verdict, parsed, outcome.extensions)
        _check_chip_id(verdict, parsed, outcome.extensions, outcome.leaf_role)
    _check_debug(verdict, parsed)
    return verdict


def _parse(verdict: Verdict, report: AttestationReport | bytes) -> AttestationReport | None:
    if isinstance(report, AttestationReport):
        parsed = report
    else:
        try:
            parsed = parse_report(report)
        except EvidenceError as exc:
            verdict.add(verify_check("snp.report.parse", False,
                                     f"This is not a valid SNP attestation report: {exc}."))
            return None
    verdict.add(verify_check(
        "snp.report.parse", True,
        f"The report is a well-formed version {parsed.version} SNP attestation report.",
        actual=f"v{parsed.version}, {parsed.product.value if parsed.product else 'product not named'}"))
    if parsed.trailing_bytes:
        # Accepted (§1.3) but said out loud: the extra bytes are unsigned and were not looked at.
        verdict.add(verify_check(
            "snp.report.trailing", False,
            f"The evidence has {parsed.trailing_bytes} more byte(s) after the 1184-byte report; they are not "
            "covered by the signature and were ignored.", expected="0 trailing bytes",
            actual=f"{parsed.trailing_bytes} trailing bytes ignored", warn=True))
    return parsed


def _check_signer_present(verdict: Verdict, report: AttestationReport) -> bool:
    if report.signer_info.signing_key is SigningKey.NONE:
        verdict.add(verify_check(
            "snp.signer", False,
            "The report says no key signed it (SIGNING_KEY = none), so nothing vouches for its content.",
            expected="VCEK or VLEK", actual="none"))
        return False
    return True


def _check_signer_matches(verdict: Verdict, report: AttestationReport, leaf_role: CertRole | None) -> None:
    want = CertRole.VLEK if report.signer_info.signing_key is SigningKey.VLEK else CertRole.VCEK
    ok = leaf_role is want
    verdict.add(verify_check(
        "snp.signer", ok,
        f"The report says it was signed by a {want.value}, and the certificate supplied is a {want.value}."
        if ok else f"The report says it was signed by a {want.value}, but the certificate supplied is "
        f"{'a ' + leaf_role.value if leaf_role else 'neither a VCEK nor a VLEK'}.",
        expected=want.value, actual=leaf_role.value if leaf_role else "unknown"))


def check_signature(verdict: Verdict, report: AttestationReport, vek: x509.Certificate) -> bool:
    """ECDSA P-384/SHA-384 over report[0x000:0x2A0] with R and S read little-endian (§2.2)."""
    key = vek.public_key()
    ok = False
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1):
        try:
            key.verify(encode_dss_signature(report.signature_r, report.signature_s),
                       report.signed_bytes, _ECDSA_SHA384)
            ok = True
        except InvalidSignature:
            ok = False
    verdict.add(verify_check(
        "snp.signature", ok,
        "The report's signature is valid: its contents are exactly what the AMD security processor signed."
        if ok else "The report's signature does not verify with this certificate's key: the report was "
        "altered, or the certificate belongs to another machine or TCB."))
    return ok


def _check_tcb(verdict: Verdict, report: AttestationReport, ext: VekExtensions) -> None:
    cert_tcb = ext.tcb()
    mine, theirs = cert_tcb.components(), report.reported_tcb.components()
    diffs = [f"{k}: certificate {mine.get(k, '-')}, report {theirs.get(k, '-')}"
             for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]
    verdict.add(verify_check(
        "snp.tcb.match", not diffs,
        "The certificate was issued for exactly the firmware level the report states (REPORTED_TCB)."
        if not diffs else "The certificate was issued for a different firmware level than the report "
        "states; fetch the VCEK for REPORTED_TCB (" + "; ".join(diffs) + ").",
        expected=str(report.reported_tcb), actual=str(cert_tcb)))
    newer = [k for k, v in mine.items() if k in report.current_tcb.components()
             and v > report.current_tcb.components()[k]]
    verdict.add(verify_check(
        "snp.tcb.current", not newer,
        "The certificate's firmware level is not newer than what the machine runs now." if not newer else
        "The certificate claims a newer firmware level than the machine runs (" + ", ".join(newer) + ").",
        expected=f"<= {report.current_tcb}", actual=str(cert_tcb)))


def _check_chip_id(verdict: Verdict, report: AttestationReport, ext: VekExtensions,
                   role: CertRole | None) -> None:
    if role is CertRole.VLEK:
        verdict.add(verify_check("snp.chip_id", None, "A VLEK belongs to a cloud provider, not to one "
                                 "chip, so there is no chip id to compare."))
        return
    if report.chip_id_masked:
        verdict.add(verify_check("snp.chip_id", None, "The report hides its chip id (masked), so it cannot "
                                 "be tied to this VCEK's chip; a policy may forbid that."))
        return
    ok = ext.hw_id is not None and ext.hw_id == report.hw_id
    verdict.add(verify_check(
        "snp.chip_id", ok,
        "The certificate belongs to the very chip that produced the report." if ok else
        "The certificate belongs to a different chip than the one that produced the report.",
        expected=report.hw_id.hex(), actual=ext.hw_id.hex() if ext.hw_id else "none"))


def _check_debug(verdict: Verdict, report: AttestationReport) -> None:
    debug = report.policy.debug_allowed
    verdict.add(verify_check(
        "snp.debug", not debug,
        "The guest policy forbids debugging, so the host cannot read the VM's memory through debug "
        "commands." if not debug else "The guest policy allows debugging, so the host could read and "
        "change this VM's memory; do not trust it with secrets.", warn=True,
        expected="debug off", actual=f"policy 0x{report.policy.raw:x}"))
