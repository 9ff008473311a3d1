"""Manual X.509 checks for AMD's profile (§2.5, §2.8 items 3-5).

cryptography's PolicyBuilder rejects VCEKs (no AKI/SKI/KeyUsage/BasicConstraints), so each link
is verified by hand: RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48; AMD names; X.509 v3.
Each function returns a list of problems in plain words (empty = fine).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from core.attestation.snp.certs import CertRole, classify, common_name

AMD_NAME = {
    x509.NameOID.ORGANIZATIONAL_UNIT_NAME: "Engineering",
    x509.NameOID.COUNTRY_NAME: "US",
    x509.NameOID.LOCALITY_NAME: "Santa Clara",
    x509.NameOID.STATE_OR_PROVINCE_NAME: "CA",
    x509.NameOID.ORGANIZATION_NAME: "Advanced Micro Devices",
}
RSASSA_PSS = x509.ObjectIdentifier("1.2.840.113549.1.1.10")
PSS_SALT = 48
KDS = "https://kdsintf.amd.com"


@lru_cache(maxsize=512)
def _name_problems(name: x509.Name, what: str) -> tuple[str, ...]:
    problems: list[str] = []
    for oid, value in AMD_NAME.items():
        got = [a.value for a in name.get_attributes_for_oid(oid)]
        if got != [value]:
            problems.append(f"{what} {oid._name} is {got or 'missing'}, AMD uses '{value}'")
    return tuple(problems)


def pss_problems(cert: x509.Certificate) -> list[str]:
    """The signature on ``cert`` must be RSA-PSS with SHA-384, MGF1-SHA-384 and salt 48."""
    if cert.signature_algorithm_oid != RSASSA_PSS:
        return [f"'{common_name(cert)}' is signed with {cert.signature_algorithm_oid._name}, not RSA-PSS"]
    params = cert.signature_algorithm_parameters
    problems = []
    if not isinstance(cert.signature_hash_algorithm, hashes.SHA384):
        problems.append(f"'{common_name(cert)}' is signed with a hash other than SHA-384")
    if not isinstance(params, padding.PSS) or params._salt_length != PSS_SALT:  # noqa: SLF001
        problems.append(f"'{common_name(cert)}' uses an RSA-PSS salt other than {PSS_SALT} bytes")
    mgf = getattr(params, "_mgf", None)
    if mgf is not None and not isinstance(getattr(mgf, "_algorithm", None), hashes.SHA384):
        problems.append(f"'{common_name(cert)}' uses an MGF1 hash other than SHA-384")
    return problems


def link_problems(child: x509.Certificate, issuer: x509.Certificate) -> list[str]:
    """Is ``child`` signed by ``issuer`` under AMD's signature profile?"""
    problems = pss_problems(child)
    if problems:
        return problems
    if child.issuer != issuer.subject:
        problems.append(f"'{common_name(child)}' names issuer '{child.issuer.rfc4514_string()}', "
                        f"not '{issuer.subject.rfc4514_string()}'")
    try:
        child.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        problems.append(f"the signature on '{common_name(child)}' was not made by "
                        f"'{common_name(issuer)}'s key")
    return problems


def ca_problems(cert: x509.Certificate, role: CertRole, product_name: str) -> list[str]:
    """ARK/ASK/ASVK metadata: v3, AMD names, CN, exactly one KDS CRL distribution point."""
    expected_cn = {CertRole.ARK: f"ARK-{product_name}", CertRole.ASK: f"SEV-{product_name}",
                   CertRole.ASVK: f"SEV-VLEK-{product_name}"}[role]
    problems = _version_problems(cert)
    if common_name(cert) != expected_cn:
        problems.append(f"common name is '{common_name(cert)}', expected '{expected_cn}'")
    problems += [*_name_problems(cert.subject, "subject"), *_name_problems(cert.issuer, "issuer")]
    kind = "vlek" if role is CertRole.ASVK else "vcek"
    want = f"{KDS}/{kind}/v1/{product_name}/crl"
    try:
        dps = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        urls = [n.value for dp in dps for n in (dp.full_name or [])]
    except (x509.ExtensionNotFound, ValueError):
        urls = []
    if role is not CertRole.ARK or urls:
        # AMD's ARKs carry the distribution point too; tolerate its absence only on a root.
        if len(list(urls)) != 1 or urls[0] not in (want, want.replace("vlek/", "vcek/")):
            problems.append(f"CRL distribution points are {urls}, expected exactly ['{want}']")
    return problems


def leaf_problems(cert: x509.Certificate, role: CertRole) -> list[str]:
    """VCEK/VLEK metadata: v3, EC P-384 key, AMD names, CN SEV-VCEK/SEV-VLEK."""
    problems = _version_problems(cert)
    expected_cn = "SEV-VLEK" if role is CertRole.VLEK else "SEV-VCEK"
    if common_name(cert) != expected_cn:
        problems.append(f"common name is '{common_name(cert)}', expected '{expected_cn}'")
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP384R1):
        problems.append("the signing key is not an EC P-384 key")
    return [*problems, *_name_problems(cert.subject, "subject"), *_name_problems(cert.issuer, "issuer")]


def _version_problems(cert: x509.Certificate) -> list[str]:
    return [] if cert.version is x509.Version.v3 else [f"'{common_name(cert)}' is not an X.509 v3 certificate"]


def validity_problem(cert: x509.Certificate, at: datetime) -> str | None:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    label = classify(cert)[0]
    name = label.value if label else common_name(cert)
    if at < start:
        return f"{name} is not valid before {start:%Y-%m-%d}"
    if at > end:
        return f"{name} expired on {end:%Y-%m-%d}"
    return None
