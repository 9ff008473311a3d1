"""Verify a VCEK/VLEK up to a trusted ARK: ARK -> ASK -> VCEK or ARK -> ASVK -> VLEK (§2.5, §2.8).

Certificates that came with the evidence are identified by their CN (Cocos swaps the ARK and ASK
fields). Missing CA certificates are filled in from the pinned set; an AMD CA certificate is
trusted only if it byte-matches its pin; a sandbox root only if the caller added it explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509

from core.attestation.roots import AmdRoots, TrustAnchorError, TrustStore, der_sha256, pinned_identity
from core.attestation.snp.certs import CertRole, VekExtensions, classify, common_name, parse_vek_extensions
from core.attestation.snp.checks import verify_check
from core.attestation.snp.tcb import Product
from core.attestation.snp.x509checks import ca_problems, leaf_problems, link_problems, validity_problem
from core.attestation.verdict import Check, Verdict
from core.errors import EvidenceError

_ISSUER_ROLE = {CertRole.VCEK: CertRole.ASK, CertRole.VLEK: CertRole.ASVK}


@dataclass(frozen=True, slots=True)
class ChainOutcome:
    """What the report checks need from the chain step."""

    product: Product | None
    leaf_role: CertRole | None
    extensions: VekExtensions | None


def verify_vek_chain(vek: x509.Certificate, *, chain: list[x509.Certificate] | None = None,
                     trust: TrustStore | None = None, at: datetime | None = None,
                     crl: x509.CertificateRevocationList | None = None,
                     product: Product | None = None, verdict: Verdict | None = None) -> Verdict:
    """Chain checks only (no report): extensions, product, ARK, intermediate, leaf, validity, CRL."""
    verdict = verdict if verdict is not None else Verdict(platform="snp")
    check_chain(verdict, vek, chain=chain, trust=trust or TrustStore(),
                at=at or datetime.now(timezone.utc), crl=crl, product=product, product_source="")
    return verdict


def check_chain(verdict: Verdict, vek: x509.Certificate, *, chain: list[x509.Certificate] | None,
                trust: TrustStore, at: datetime, crl: x509.CertificateRevocationList | None,
                product: Product | None, product_source: str) -> ChainOutcome:
    leaf_role, _ = classify(vek)
    leaf_role = leaf_role if leaf_role in _ISSUER_ROLE else None
    extensions = _check_extensions(verdict, vek, leaf_role)
    supplied = [(c, *classify(c)) for c in (chain or [])]
    resolved = _check_product(verdict, product, product_source, extensions, supplied)
    leaf_id = "snp.chain.vlek" if leaf_role is CertRole.VLEK else "snp.chain.vcek"
    needed = _ISSUER_ROLE.get(leaf_role or CertRole.VCEK, CertRole.ASK)
    inter = _pick_intermediate(supplied, needed, trust, resolved)
    ark = _check_ark(verdict, supplied, inter, trust, resolved)
    _check_intermediate(verdict, inter, ark, needed)
    _check_leaf(verdict, leaf_id, vek, leaf_role, inter)
    _check_validity(verdict, [c for c in (ark, inter, vek) if c is not None], at)
    _check_crl(verdict, crl, ark, inter, at)
    return ChainOutcome(resolved, leaf_role, extensions)


def _check_extensions(verdict: Verdict, vek: x509.Certificate,
                      role: CertRole | None) -> VekExtensions | None:
    try:
        ext = parse_vek_extensions(vek)
    except EvidenceError as exc:
        verdict.add(verify_check("snp.vek.extensions", False,
                                 f"The signing certificate's AMD extensions are malformed: {exc}."))
        return None
    problems = []
    if role is CertRole.VCEK and ext.hw_id is None:
        problems.append("a VCEK must name its chip (hwID) but this one does not")
    if role is CertRole.VLEK and ext.csp_id is None:
        problems.append("a VLEK must name its cloud provider (cspID) but this one does not")
    if ext.hw_id is not None and (len(ext.hw_id) == 8) != (ext.fmc_spl is not None):
        problems.append(f"the hwID has {len(ext.hw_id)} bytes, which does not fit the TCB format")
    ok = not problems
    verdict.add(verify_check(
        "snp.vek.extensions", ok,
        "The signing certificate carries well-formed AMD extensions (TCB levels and chip or provider id)."
        if ok else "The signing certificate's AMD extensions are inconsistent: " + "; ".join(problems) + ".",
        actual=f"product {ext.product_name or '?'}, TCB {ext.tcb()}"))
    return ext


def _check_product(verdict: Verdict, product: Product | None, source: str,
                   ext: VekExtensions | None, supplied: list) -> Product | None:
    sources: list[tuple[str, Product]] = []
    if product is not None:
        sources.append((f"report ({source})" if source else "requested", product))
    if ext is not None and ext.product is not None:
        sources.append(("signing certificate", ext.product))
    sources += [(f"CA certificate '{common_name(c)}'", p) for c, role, p in supplied if p is not None]
    if not sources:
        verdict.add(verify_check("snp.product", False,
                                 "Cannot tell which AMD processor family produced this evidence, so the "
                                 "right AMD root cannot be chosen. Configure the product (Milan, Genoa, Turin)."))
        return None
    names = sorted({p.value for _, p in sources})
    ok = len(names) == 1
    listing = ", ".join(f"{label}: {p.value}" for label, p in sources)
    verdict.add(verify_check(
        "snp.product", ok,
        f"The report, its certificate and the CA chain all belong to AMD {names[0]}." if ok else
        "The pieces of evidence name different AMD processor families; a certificate from one family "
        f"cannot vouch for a report from another ({listing}).",
        expected=sources[0][1].value, actual=listing))
    return sources[0][1]


def _pick_intermediate(supplied: list, needed: CertRole, trust: TrustStore,
                       product: Product | None) -> x509.Certificate | None:
    for role_wanted in (needed, CertRole.ASK, CertRole.ASVK):
        # A supplied intermediate of the wrong kind is used (and fails) rather than silently replaced:
        # offering the ASK for a VLEK (or the reverse) is the substitution attack of §2.8 item 5.
        for cert, role, _ in supplied:
            if role is role_wanted:
                return cert
    roots = _pinned(trust, product) if product is not None else None
    return roots.intermediate(needed) if roots is not None else None


def _pinned(trust: TrustStore, product: Product) -> AmdRoots | None:
    try:
        return trust.amd_roots(product)
    except TrustAnchorError:
        return None


def _check_ark(verdict: Verdict, supplied: list, inter: x509.Certificate | None, trust: TrustStore,
               product: Product | None) -> x509.Certificate | None:
    offered = next((c for c, role, _ in supplied if role is CertRole.ARK), None)
    if offered is not None and (pinned_identity(offered) or trust.is_sandbox_root(offered)):
        ark, rejected = offered, None
    else:
        rejected = offered  # an untrusted root never anchors anything, whatever its name says
        ark = next((r for r in trust.sandbox_roots if inter is not None and not link_problems(inter, r)), None)
        roots = _pinned(trust, product) if product is not None and ark is None else None
        ark = ark or (roots.ark if roots else None)
    verdict.add(_ark_check(ark, rejected, trust))
    return ark


def _ark_check(ark: x509.Certificate | None, rejected: x509.Certificate | None, trust: TrustStore) -> Check:
    """Which root anchored the chain, and whether a root that came with the evidence was set aside."""
    note = ""
    if rejected is not None:
        note = (f" The evidence supplied its own root named '{common_name(rejected)}' (SHA-256 "
                f"{der_sha256(rejected)[:16]}…), which is not AMD's: it is neither AMD's pinned root nor a root "
                "you chose to trust, so it was ignored.")
    actual = _root_label(ark, trust) + (f"; ignored supplied root '{common_name(rejected)}' "
                                        f"{der_sha256(rejected)[:16]}" if rejected is not None else "")
    if ark is None:
        return verify_check("snp.chain.ark", False, "No trusted AMD root (ARK) is available for this "
                            "product, so nothing can vouch for the evidence." + note, actual=actual)
    if trust.is_sandbox_root(ark):
        return verify_check(
            "snp.chain.ark", False,
            f"The chain was checked against the sandbox root '{common_name(ark)}' that you chose to trust, "
            "not against AMD: this evidence comes from a simulated TEE, not real AMD hardware." + note,
            warn=True, actual=actual)
    if rejected is not None:
        return verify_check(
            "snp.chain.ark", False,
            f"The chain was checked against AMD's {common_name(ark)} built into this app, not against the "
            "root that came with the evidence." + note, warn=True, expected=common_name(ark), actual=actual)
    return verify_check(
        "snp.chain.ark", True,
        f"The root certificate is AMD's own {common_name(ark)}, identical to the copy built into this app.",
        expected=common_name(ark), actual=actual)


def _root_label(ark: x509.Certificate | None, trust: TrustStore) -> str:
    if ark is None:
        return "no trusted root"
    kind = "sandbox root" if trust.is_sandbox_root(ark) else "AMD pinned root"
    return f"used {kind} '{common_name(ark)}' {der_sha256(ark)[:16]}"


def _check_intermediate(verdict: Verdict, inter: x509.Certificate | None, ark: x509.Certificate | None,
                        needed: CertRole) -> None:
    role, product = classify(inter) if inter is not None else (needed, None)
    check_id = "snp.chain.asvk" if role is CertRole.ASVK else "snp.chain.ask"
    label = "ASVK" if role is CertRole.ASVK else "ASK"
    if inter is None or ark is None or role not in (CertRole.ASK, CertRole.ASVK):
        verdict.add(verify_check(check_id, False,
                                 f"The AMD intermediate certificate ({label}) is missing or unrecognised, "
                                 "so the signing certificate cannot be traced to AMD."))
        return
    pin = pinned_identity(inter)
    ark_pin = pinned_identity(ark)
    if pin is not None and ark_pin is not None and pin[0] == ark_pin[0]:
        problems: list[str] = []  # byte-identical to a pin whose link was verified when loaded
    else:
        problems = link_problems(inter, ark) + ca_problems(inter, role, product.value if product else "?")
        if ark_pin is not None and pin is None:
            problems.append(f"'{common_name(inter)}' is not the {label} pinned in this app")
    ok = not problems
    verdict.add(verify_check(
        check_id, ok,
        f"The {label} ({common_name(inter)}) is signed by the root and is AMD's." if ok else
        f"The {label} cannot be trusted: " + "; ".join(problems) + ".", actual=common_name(inter)))


def _check_leaf(verdict: Verdict, check_id: str, leaf: x509.Certificate, role: CertRole | None,
                inter: x509.Certificate | None) -> None:
    kind = role.value if role else "signing key"
    if role is None:
        verdict.add(verify_check(check_id, False, f"The signing certificate '{common_name(leaf)}' is "
                                 "neither a VCEK nor a VLEK."))
        return
    if inter is None:
        verdict.add(verify_check(check_id, False, f"No intermediate certificate to check the {kind} against."))
        return
    problems = []
    inter_role, _ = classify(inter)
    if inter_role is not _ISSUER_ROLE[role]:
        problems.append(f"a {kind} must be issued by the {_ISSUER_ROLE[role].value}, but the chain offers the "
                        f"{inter_role.value if inter_role else '?'} ({common_name(inter)}); swapping them "
                        "is a known attack")
    problems += link_problems(leaf, inter) + leaf_problems(leaf, role)
    ok = not problems
    verdict.add(verify_check(
        check_id, ok,
        f"The {kind} certificate was issued by AMD's {common_name(inter)}." if ok else
        f"The {kind} certificate cannot be trusted: " + "; ".join(problems) + "."))


def _check_validity(verdict: Verdict, certs: list[x509.Certificate], at: datetime) -> None:
    problems = [p for p in (validity_problem(c, at) for c in certs) if p]
    ok = not problems
    verdict.add(verify_check(
        "snp.validity", ok,
        f"Every certificate in the chain is valid on {at:%Y-%m-%d}." if ok else
        "A certificate in the chain is not valid at the verification time: " + "; ".join(problems) + ".",
        expected=f"valid on {at:%Y-%m-%d %H:%M} UTC", actual="; ".join(problems) or "all valid"))


def _check_crl(verdict: Verdict, crl: x509.CertificateRevocationList | None,
               ark: x509.Certificate | None, inter: x509.Certificate | None, at: datetime) -> None:
    if crl is None:
        verdict.add(verify_check("snp.crl", None, "No AMD revocation list was supplied, so a revoked "
                                 "intermediate certificate would not be noticed."))
        return
    problems = []
    if ark is None or crl.issuer != ark.subject or not crl.is_signature_valid(ark.public_key()):
        problems.append("the revocation list is not signed by the root")
    next_update = crl.next_update_utc
    if next_update is not None and at > next_update:
        problems.append(f"the revocation list is out of date (next update was due {next_update:%Y-%m-%d})")
    if crl.last_update_utc > at:
        problems.append(f"the revocation list was issued after the verification time ({crl.last_update_utc:%Y-%m-%d})")
    revoked = crl.get_revoked_certificate_by_serial_number(inter.serial_number) if inter is not None else None
    if revoked is not None:
        problems.append(f"'{common_name(inter)}' was revoked on {revoked.revocation_date_utc:%Y-%m-%d}")
    ok = not problems
    verdict.add(verify_check("snp.crl", ok, "AMD's current revocation list does not revoke the chain." if ok
                             else "Revocation check failed: " + "; ".join(problems) + "."))
