"""The exact SubjectPublicKeyInfo bytes of a DER certificate.

The binder hashes the SPKI as it appears in the certificate (Go's RawSubjectPublicKeyInfo).
Re-encoding the parsed key could change those bytes (e.g. a compressed EC point), so we walk
the DER to the sixth field of tbsCertificate instead.
"""

from __future__ import annotations

from core.atls.errors import AtlsProtocolError


def _tlv(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``pos``."""
    if pos + 2 > len(der):
        raise AtlsProtocolError("the leaf certificate is truncated", code="atls-certificate")
    tag, first = der[pos], der[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > len(der):
            raise AtlsProtocolError("the leaf certificate has a malformed DER length",
                                    code="atls-certificate")
        length = int.from_bytes(der[pos:pos + n], "big")
        pos += n
    if pos + length > len(der):
        raise AtlsProtocolError("the leaf certificate is truncated", code="atls-certificate")
    return tag, pos, pos + length


def raw_spki(cert_der: bytes) -> bytes:
    """The DER SubjectPublicKeyInfo element of an X.509 certificate."""
    tag, cert_start, _ = _tlv(cert_der, 0)
    tbs_tag, pos, tbs_end = _tlv(cert_der, cert_start)
    if tag != 0x30 or tbs_tag != 0x30:
        raise AtlsProtocolError("the leaf is not a DER X.509 certificate", code="atls-certificate")
    if pos < tbs_end and cert_der[pos] == 0xA0:  # explicit [0] version
        pos = _tlv(cert_der, pos)[2]
    for _ in range(5):  # serialNumber, signature, issuer, validity, subject
        pos = _tlv(cert_der, pos)[2]
    spki_tag, _, spki_end = _tlv(cert_der, pos)
    if spki_tag != 0x30 or spki_end > tbs_end:
        raise AtlsProtocolError("the leaf certificate's public key info is malformed",
                                code="atls-certificate")
    return bytes(cert_der[pos:spki_end])
