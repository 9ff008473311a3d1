"""One piece of collateral: the exact bytes as served, where they came from and how long they hold.

Validity is read from the item itself (certificate notBefore/notAfter, CRL thisUpdate/nextUpdate,
Intel JSON issueDate/nextUpdate), never from HTTP headers, so a pack or a cache cannot make an item
look fresher than it is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509

from core.attestation import x509load
from core.attestation.collateral import kinds as K
from core.attestation.collateral.errors import CollateralDataError
from core.attestation.snp.certs import load_certificates
from core.attestation.tdx.collateral import parse_qe_identity, parse_tcb_info
from core.errors import EvidenceError

_KIND_NAMES = {
    K.AMD_VCEK: "AMD VCEK certificate", K.AMD_VLEK: "AMD VLEK certificate",
    K.AMD_CERT_CHAIN: "AMD CA chain", K.AMD_CA_CERT: "AMD CA certificate", K.AMD_CRL: "AMD CRL",
    K.INTEL_TCB_INFO: "Intel TDX TCB Info", K.INTEL_QE_IDENTITY: "Intel TD QE Identity",
    K.INTEL_PCK_CRL: "Intel PCK CRL", K.INTEL_ROOT_CRL: "Intel SGX Root CA CRL",
    K.INTEL_ISSUER_CHAIN: "Intel issuer chain",
}


def utc(moment: datetime) -> datetime:
    """A timezone-aware UTC time (naive values are taken to be UTC already)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def kind_name(kind: str) -> str:
    return _KIND_NAMES.get(kind, kind)


@dataclass(frozen=True, slots=True)
class CollateralItem:
    kind: str
    key: str
    data: bytes                   # exact bytes as served (or as found in a pack or folder)
    source_url: str
    fetched_at: datetime
    not_before: datetime | None   # certificate notBefore, CRL thisUpdate, JSON issueDate
    not_after: datetime | None    # certificate notAfter, CRL nextUpdate, JSON nextUpdate

    @classmethod
    def create(cls, kind: str, key: str, data: bytes, *, source_url: str,
               fetched_at: datetime) -> CollateralItem:
        """Build an item, reading its validity window from the bytes (``CollateralDataError`` if
        the bytes are not a ``kind``)."""
        if kind not in K.KINDS:
            raise CollateralDataError(f"unknown collateral kind '{kind}'; known kinds: {', '.join(K.KINDS)}")
        if not key:
            raise CollateralDataError(f"a {kind_name(kind)} needs a key")
        not_before, not_after = validity_of(kind, bytes(data))
        return cls(kind, key, bytes(data), source_url, utc(fetched_at), not_before, not_after)

    @property
    def next_update(self) -> datetime | None:
        """When the issuer promises newer data (the same instant as ``not_after``)."""
        return self.not_after

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def age(self, at: datetime) -> timedelta:
        """How long ago the item was fetched, at ``at``."""
        return utc(at) - self.fetched_at

    def expired(self, at: datetime) -> bool:
        """True once ``at`` is past the item's own notAfter / nextUpdate."""
        return self.not_after is not None and utc(at) > self.not_after

    def fresh(self, at: datetime, max_age: timedelta | None = None) -> bool:
        """Not expired and, when ``max_age`` is given, fetched no longer than that ago."""
        return not self.expired(at) and (max_age is None or self.age(at) <= max_age)

    def describe(self, at: datetime | None = None) -> str:
        """One line for a person: what, which, from where, and until when."""
        until = f"valid until {self.not_after:%Y-%m-%d %H:%M} UTC" if self.not_after else "no expiry"
        if at is not None and self.expired(at):
            until = f"EXPIRED {self.not_after:%Y-%m-%d %H:%M} UTC"
        return (f"{kind_name(self.kind)} [{self.key}] from {self.source_url}, fetched "
                f"{self.fetched_at:%Y-%m-%d %H:%M} UTC, {until}")


# --- validity, per kind ------------------------------------------------------------------------

def validity_of(kind: str, data: bytes) -> tuple[datetime | None, datetime | None]:
    if kind in K.CERTIFICATE_KINDS or kind in K.CHAIN_KINDS:
        return _cert_validity(kind, data)
    if kind in K.CRL_KINDS:
        return _crl_validity(kind, data)
    return _json_validity(kind, data)


def _cert_validity(kind: str, data: bytes) -> tuple[datetime, datetime]:
    try:
        certs = load_certificates(data, source=f"the {kind_name(kind)}")
    except EvidenceError as exc:
        raise CollateralDataError(str(exc)) from None
    if not certs or (kind in K.CERTIFICATE_KINDS and len(certs) != 1):
        raise CollateralDataError(
            f"the {kind_name(kind)} holds {len(certs)} certificates where one was expected")
    # A chain holds only as long as its shortest-lived certificate.
    return (max(c.not_valid_before_utc for c in certs), min(c.not_valid_after_utc for c in certs))


def load_crl(data: bytes, what: str) -> x509.CertificateRevocationList:
    try:
        return x509load.load_crl(data)
    except ValueError as exc:
        raise CollateralDataError(f"the {what} is not a readable CRL (DER or PEM): {exc}") from None


def _crl_validity(kind: str, data: bytes) -> tuple[datetime | None, datetime | None]:
    crl = load_crl(data, kind_name(kind))
    return crl.last_update_utc, crl.next_update_utc


def _json_validity(kind: str, data: bytes) -> tuple[datetime, datetime]:
    try:
        if kind == K.INTEL_TCB_INFO:
            info = parse_tcb_info(data).tcb_info
            return info.issue_date, info.next_update
        identity = parse_qe_identity(data).qe_identity
        return identity.issue_date, identity.next_update
    except EvidenceError as exc:
        raise CollateralDataError(str(exc)) from None
