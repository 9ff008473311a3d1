"""Certificate revocation lists (RFC 5280 section 5), built from the CA's revoked records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from core.ca.builder import IssuerKey, signing_hash, utc
from core.ca.reasons import reason_flag

__all__ = ["RevokedEntry", "build_crl"]


@dataclass(frozen=True, slots=True)
class RevokedEntry:
    serial: int
    revoked_at: datetime
    reason: str | None  # a REVOCATION_REASONS name


def build_crl(issuer: x509.Certificate, issuer_key: IssuerKey, entries: Iterable[RevokedEntry], *,
              number: int, this_update: datetime, next_update: datetime) -> bytes:
    """A signed DER CRL carrying CRLNumber, the issuer's key identifier and each entry's reason."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(utc(this_update))
        .next_update(utc(next_update))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    for entry in entries:
        builder = builder.add_revoked_certificate(_revoked(entry))
    return builder.sign(issuer_key, signing_hash(issuer_key)).public_bytes(Encoding.DER)


def _revoked(entry: RevokedEntry) -> x509.RevokedCertificate:
    builder = (
        x509.RevokedCertificateBuilder()
        .serial_number(entry.serial)
        .revocation_date(utc(entry.revoked_at))
    )
    flag = reason_flag(entry.reason) if entry.reason else None
    if flag is not None:
        builder = builder.add_extension(x509.CRLReason(flag), critical=False)
    return builder.build()


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
