"""Certificate chain checks for the PCK chain and the TCB signing chain (§3.5, §3.8 step 2-3).

Problems are collected, not raised: the verifier turns them into Verdict checks. Structure,
names and signatures go in ``problems``; validity at the verification time goes in ``expired``,
so expiry is reported as its own check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from .crypto import cert_issued_by, crl_signed_by, is_p256, memo_by_identity
from .roots import TdxTrust, TrustAnchor, colon_hex, fingerprint

PCK_LEAF_CN = "Intel SGX PCK Certificate"
PCK_CA_CNS = ("Intel SGX PCK Platform CA", "Intel SGX PCK Processor CA")
TCB_SIGNING_CN = "Intel SGX TCB Signing"


@dataclass(frozen=True, slots=True)
class ChainReport:
    certificates: tuple[x509.Certificate, ...]
    problems: tuple[str, ...]
    expired: tuple[str, ...]
    anchor: TrustAnchor | None

    @property
    def ok(self) -> bool:
        return not self.problems


def _common_name(cert: x509.Certificate) -> str:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def common_name(cert: x509.Certificate) -> str:
    return memo_by_identity(cert, "cn", _common_name)  # type: ignore[no-any-return]


def _shape_problems(cert: x509.Certificate, label: str) -> list[str]:
    problems = []
    if cert.version is not x509.Version.v3:
        problems.append(f"{label} is not an X.509 v3 certificate")
    if cert.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        problems.append(f"{label} is not signed with ECDSA-SHA256")
    if not is_p256(cert.public_key()):
        problems.append(f"{label} does not have a P-256 key")
    return problems


def check_chain(
    certs: Sequence[x509.Certificate],
    expected_cns: Sequence[tuple[str, ...]],
    trust: TdxTrust,
    at: datetime,
) -> ChainReport:
    """Check ``certs`` (leaf first, root last): ``expected_cns`` lists the allowed CNs below the root."""
    certs = tuple(certs)
    problems: list[str] = []
    if len(certs) != len(expected_cns) + 1:
        problems.append(f"the chain has {len(certs)} certificates, expected {len(expected_cns) + 1}")
        return ChainReport(certs, tuple(problems), (), None)
    for index, (cert, allowed) in enumerate(zip(certs, expected_cns)):
        name = common_name(cert)
        label = f"certificate {index + 1} ({name or 'no CN'})"
        if name not in allowed:
            problems.append(f"{label} should be {' or '.join(allowed)}")
        problems.extend(_shape_problems(cert, label))
        if not cert_issued_by(cert, certs[index + 1]):
            problems.append(f"{label} is not signed by the next certificate in the chain")
    anchor = trust.anchor_for(certs[-1])
    if anchor is None:
        problems.append(
            f"the chain ends in a root that is not pinned (SHA-256 {colon_hex(fingerprint(certs[-1]))})"
        )
    expired = tuple(
        f"{common_name(c) or 'certificate'} is valid {c.not_valid_before_utc:%Y-%m-%d} to "
        f"{c.not_valid_after_utc:%Y-%m-%d}, not at {at:%Y-%m-%d %H:%M} UTC"
        for c in certs
        if not c.not_valid_before_utc <= at <= c.not_valid_after_utc
    )
    return ChainReport(certs, tuple(problems), expired, anchor)


@dataclass(frozen=True, slots=True)
class CrlReport:
    problems: tuple[str, ...]
    stale: tuple[str, ...]
    revoked: bool


def check_crl(
    crl: x509.CertificateRevocationList,
    issuer: x509.Certificate,
    subject: x509.Certificate,
    at: datetime,
    what: str,
) -> CrlReport:
    """``crl`` is signed by ``issuer``, current at ``at``, and does not list ``subject``."""
    problems: list[str] = []
    if not crl_signed_by(crl, issuer):
        problems.append(f"the {what} is not signed by {common_name(issuer) or 'its issuer'}")
    stale: list[str] = []
    next_update = crl.next_update_utc
    if crl.last_update_utc > at or next_update is None or next_update < at:
        until = f"{next_update:%Y-%m-%d}" if next_update else "no end"
        stale.append(f"the {what} is current {crl.last_update_utc:%Y-%m-%d} to {until}, not at {at:%Y-%m-%d}")
    revoked = crl.get_revoked_certificate_by_serial_number(subject.serial_number) is not None
    return CrlReport(tuple(problems), tuple(stale), revoked)
