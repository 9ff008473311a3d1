"""Queries and row construction for the CA's two tables (ca_certificates, ca_crls)."""

from __future__ import annotations

import json
import re

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.ca.builder import common_name_of, serial_hex
from core.ca.errors import InvalidCAInput
from core.ca.sans import san_strings
from core.workspace.schema import CACertificate, CACrl

__all__ = ["all_rows", "find", "find_ca", "latest_crl", "new_row", "next_crl_number", "normalise_serial",
           "revoked_rows"]

_HEX = re.compile(r"^[0-9a-f]{1,64}$")


def normalise_serial(serial: str | int) -> str:
    """Lowercase hex without leading zeros; accepts "0x" prefixes and the colon-separated bytes tools print."""
    if isinstance(serial, int) and not isinstance(serial, bool):
        if serial < 0:
            raise InvalidCAInput(f"serial {serial} is negative; certificate serials are positive numbers")
        return serial_hex(serial)
    if not isinstance(serial, str):
        raise InvalidCAInput(f"a serial must be hexadecimal text, not {type(serial).__name__}")
    text = serial.strip().lower().replace(":", "").replace(" ", "")
    text = text[2:] if text.startswith("0x") else text
    if not _HEX.match(text):
        raise InvalidCAInput(f"{serial!r} is not a certificate serial; give it in hexadecimal "
                             "as `prism ca list` shows")
    return text.lstrip("0") or "0"


def find_ca(session: Session) -> CACertificate | None:
    return session.scalars(select(CACertificate).where(CACertificate.usage == "ca").limit(1)).first()


def find(session: Session, serial: str) -> CACertificate | None:
    return session.get(CACertificate, serial)


def all_rows(session: Session) -> list[CACertificate]:
    return list(session.scalars(select(CACertificate)))


def revoked_rows(session: Session) -> list[CACertificate]:
    query = select(CACertificate).where(CACertificate.revoked_at.is_not(None)).order_by(CACertificate.revoked_at)
    return list(session.scalars(query))


def next_crl_number(session: Session) -> int:
    highest = session.scalar(select(func.max(CACrl.number)))
    return (highest or 0) + 1


def latest_crl(session: Session) -> CACrl | None:
    return session.scalars(select(CACrl).order_by(CACrl.number.desc()).limit(1)).first()


def new_row(cert: x509.Certificate, *, usage: str, sans: tuple[str, ...] | None = None,
            key_name: str | None = None, renewed_from: str | None = None) -> CACertificate:
    """The row for a freshly signed certificate; SANs default to what the certificate carries."""
    if sans is None:
        sans = _cert_sans(cert)
    return CACertificate(
        serial=serial_hex(cert.serial_number),
        common_name=common_name_of(cert),
        sans=json.dumps(list(sans)),
        usage=usage,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        pem=cert.public_bytes(Encoding.PEM).decode("ascii"),
        key_name=key_name,
        renewed_from=renewed_from,
        revoked_at=None,
        revocation_reason=None,
    )


def _cert_sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        return san_strings(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return ()
