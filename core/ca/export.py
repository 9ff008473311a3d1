"""Export formats for an issued certificate: a PEM bundle and a passphrase-protected PKCS#12."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12

from core.ca.errors import InvalidCAInput
from core.keys.types import PrivateKey

__all__ = ["PKCS12_KDF_ROUNDS", "pem_bundle", "pkcs12_bundle", "pkcs8_pem"]

#: PBKDF2 rounds for the PKCS#12 bags: the file leaves the machine, so make guessing costly
PKCS12_KDF_ROUNDS = 600_000


def pem_bundle(cert: x509.Certificate, ca: x509.Certificate) -> bytes:
    """Leaf first, then the CA, as TLS servers expect a chain file; the CA alone once for itself."""
    chain = [cert] if cert == ca else [cert, ca]
    return b"".join(item.public_bytes(Encoding.PEM) for item in chain)


def pkcs12_bundle(name: str, key: PrivateKey, cert: x509.Certificate, ca: x509.Certificate,
                  passphrase: bytes) -> bytes:
    """PBES2 (PBKDF2-SHA256, AES-256-CBC) with an HMAC-SHA256 MAC: read by OpenSSL 3, browsers and OSes."""
    if not isinstance(passphrase, (bytes, bytearray)) or not passphrase:
        raise InvalidCAInput("a PKCS#12 export needs a non-empty passphrase (as bytes) to protect the key")
    encryption = (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(PKCS12_KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(bytes(passphrase))
    )
    return pkcs12.serialize_key_and_certificates(name.encode("utf-8"), key, cert, [ca], encryption)


def pkcs8_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM, handed over once for the caller to write to an owner-only file."""
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
