"""Tree model of the certificates seen during an inspection: root first, each issued one below."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel

if TYPE_CHECKING:
    from cryptography import x509

COL_SUBJECT, COL_ROLE, COL_ISSUER, COL_NOT_BEFORE, COL_NOT_AFTER, COL_STATUS = range(6)
HEADERS = ("Subject", "Role", "Issuer", "Not before", "Not after", "At the chosen time")
CertInfoRole = Qt.ItemDataRole.UserRole + 1
STATUS_COLOURS = {"valid": "#1a7f4b", "expired": "#b3261e", "not yet valid": "#8a6100"}


@dataclass(frozen=True, slots=True)
class CertInfo:
    subject: str
    issuer: str
    role: str
    not_before: datetime
    not_after: datetime
    status: str               # "valid" | "expired" | "not yet valid" at the chosen time
    self_signed: bool


def cert_info(cert: x509.Certificate, at: datetime) -> CertInfo:
    from cryptography import x509 as _x509

    from core.attestation.snp.certs import classify, common_name

    def cn(name: _x509.Name) -> str:
        attrs = name.get_attributes_for_oid(_x509.NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else name.rfc4514_string()

    role, product = classify(cert)
    label = (role.value + (f" ({product.value})" if product else "")) if role else "certificate"
    before, after = cert.not_valid_before_utc, cert.not_valid_after_utc
    status = "expired" if at > after else "not yet valid" if at < before else "valid"
    return CertInfo(common_name(cert) or cn(cert.subject), cn(cert.issuer), label, before, after,
                    status, cert.issuer == cert.subject)


def _unique(certs: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    seen: set[bytes] = set()
    out = []
    for cert in certs:
        key = cert.fingerprint(cert.signature_hash_algorithm or _sha256())
        if key not in seen:
            seen.add(key)
            out.append(cert)
    return out


def _sha256() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


class CertChainModel(QStandardItemModel):
    """Roots (self-signed, or whose issuer is not among the certificates) at the top level."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(list(HEADERS))

    def set_certificates(self, certs: Sequence[x509.Certificate], at: datetime) -> None:
        self.removeRows(0, self.rowCount())
        certs = _unique(certs)
        subjects = {c.subject for c in certs}
        placed: set[int] = set()

        def add(parent: QStandardItem | None, cert: x509.Certificate, depth: int) -> None:
            placed.add(id(cert))
            row = self._row(cert_info(cert, at))
            (parent.appendRow if parent is not None else self.appendRow)(row)
            if depth > 8:  # a malformed set can hold a cycle of cross-issued names
                return
            for child in certs:
                if id(child) not in placed and child.issuer == cert.subject and child.subject != cert.subject:
                    add(row[0], child, depth + 1)

        for cert in certs:
            if cert.issuer == cert.subject or cert.issuer not in subjects:
                add(None, cert, 0)
        for cert in certs:  # anything left sits in a cycle: show it rather than hide it
            if id(cert) not in placed:
                add(None, cert, 0)

    @staticmethod
    def _row(info: CertInfo) -> list[QStandardItem]:
        texts = (info.subject, info.role, info.issuer + (" (itself)" if info.self_signed else ""),
                 f"{info.not_before:%Y-%m-%d}", f"{info.not_after:%Y-%m-%d}", info.status)
        items = [QStandardItem(text) for text in texts]
        for item in items:
            item.setEditable(False)
            item.setData(info, CertInfoRole)
        items[COL_STATUS].setForeground(QColor(STATUS_COLOURS[info.status]))
        return items
