"""What the CA tells its callers about a certificate: immutable records and issuance results."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from core.ca.builder import utc
from core.workspace.schema import CACertificate

__all__ = ["STATUSES", "USAGES", "CertRecord", "Issued", "lifetime_days", "record_from_row", "status_at"]

USAGES = ("ca", "server", "client")
STATUSES = ("valid", "expired", "revoked", "not-yet-valid")


@dataclass(frozen=True, slots=True)
class CertRecord:
    """One certificate of the workspace CA as seen at a given time."""

    serial: str  # lowercase hex, no leading zeros
    common_name: str
    sans: tuple[str, ...]  # "DNS:localhost", "IP:127.0.0.1", "URI:..."
    usage: str  # "ca" | "server" | "client"
    not_before: datetime  # aware UTC
    not_after: datetime  # aware UTC
    status: str  # "valid" | "expired" | "revoked" | "not-yet-valid"
    revoked_at: datetime | None
    revocation_reason: str | None
    key_name: str | None  # keystore entry holding the private key; None when issued from a CSR
    renewed_from: str | None
    pem: str


@dataclass(frozen=True)
class Issued:
    """A certificate just issued or renewed, with its key when the CA generated one."""

    record: CertRecord
    cert_pem: bytes
    # Unencrypted PKCS#8 of a freshly generated key, for the caller to write out (mode 0600) once;
    # None when the key came from a CSR or was kept by a renewal.
    key_pem: bytes | None


def status_at(at: datetime, not_before: datetime, not_after: datetime, revoked_at: datetime | None) -> str:
    """Revocation wins over the validity window: a revoked certificate never reads as merely expired."""
    if revoked_at is not None:
        return "revoked"
    moment = utc(at)
    if moment < utc(not_before):
        return "not-yet-valid"
    if moment > utc(not_after):
        return "expired"
    return "valid"


def lifetime_days(not_before: datetime, not_after: datetime) -> int:
    """A validity in whole days (the small backdate of validity() rounds away)."""
    return max(1, round((utc(not_after) - utc(not_before)).total_seconds() / 86400))


def record_from_row(row: CACertificate, at: datetime) -> CertRecord:
    """Turn a stored row into a record; SQLite hands back naive datetimes, which are UTC."""
    revoked_at = utc(row.revoked_at) if row.revoked_at is not None else None
    return CertRecord(
        serial=row.serial,
        common_name=row.common_name,
        sans=tuple(json.loads(row.sans or "[]")),
        usage=row.usage,
        not_before=utc(row.not_before),
        not_after=utc(row.not_after),
        status=status_at(at, row.not_before, row.not_after, revoked_at),
        revoked_at=revoked_at,
        revocation_reason=row.revocation_reason,
        key_name=row.key_name,
        renewed_from=row.renewed_from,
        pem=row.pem,
    )
