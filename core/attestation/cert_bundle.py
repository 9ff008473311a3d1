"""Certificates as they are shipped next to SNP evidence: PEM/DER files or an extended-report table.

The host hands the guest its VCEK/VLEK, ASK and ARK in the certificate table of an extended report
(GHCB ``SNP_GET_EXT_REPORT``, configfs-tsm ``auxblob``, go-sev-guest's ``certs`` output; §2.7).
A table is recognised by its first entry naming one of AMD's GUIDs, so a PEM or DER file (which
starts with ``-----`` or an ASN.1 SEQUENCE) is never mistaken for one.
"""

from __future__ import annotations

import uuid

from cryptography import x509

from core.attestation.snp.certs import load_certificates
from core.attestation.snp.certtable import (
    ENTRY_SIZE, GUID_ARK, GUID_ASK, GUID_NAMES, GUID_VCEK, GUID_VLEK, CertTableEntry, parse_cert_table,
)

#: the entries that hold certificates (the "extra platform info" entry does not)
CERTIFICATE_GUIDS = (GUID_VCEK, GUID_VLEK, GUID_ASK, GUID_ARK)


def is_cert_table(data: bytes) -> bool:
    """True when ``data`` starts with a certificate-table entry for one of AMD's GUIDs."""
    if len(data) < ENTRY_SIZE:
        return False
    return uuid.UUID(bytes=bytes(data[:16])) in GUID_NAMES


def table_certificate_entries(table: bytes) -> list[CertTableEntry]:
    """The certificate entries of a table (raises ``CertTableError`` when the table is malformed)."""
    return [e for e in parse_cert_table(table) if e.guid in CERTIFICATE_GUIDS and e.length]


def table_certificates(table: bytes, *, source: str = "the certificate table") -> list[x509.Certificate]:
    """Every certificate in a certificate table, leaf first as the host listed them."""
    return [cert for entry in table_certificate_entries(table)
            for cert in load_certificates(entry.data, source=f"the {entry.name} entry of {source}")]


def load_certificate_bundle(data: bytes, *, source: str = "certificate data") -> list[x509.Certificate]:
    """Certificates from PEM (one or many), a DER certificate, or an extended-report certificate table."""
    if is_cert_table(data):
        return table_certificates(data, source=source)
    return load_certificates(data, source=source)
