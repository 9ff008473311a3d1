"""Encrypted PKCS#8 (RFC 5958 / RFC 8018 PBES2) written with a modern work factor.

``cryptography``'s ``BestAvailableEncryption`` uses PBKDF2 with 2048 iterations, which is too
cheap for a key file that leaves the machine; this writes PBES2 with PBKDF2-HMAC-SHA256 at
600 000 iterations and AES-256-CBC, which OpenSSL, Go and ``cryptography`` all read.
"""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

#: OWASP's 2023 figure for PBKDF2-HMAC-SHA256
PBKDF2_ITERATIONS = 600_000

_OID_PBES2 = "1.2.840.113549.1.5.13"
_OID_PBKDF2 = "1.2.840.113549.1.5.12"
_OID_HMAC_SHA256 = "1.2.840.113549.2.9"
_OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"


def encrypt_pkcs8_der(pkcs8_der: bytes, passphrase: bytes, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    """An ``EncryptedPrivateKeyInfo`` DER wrapping the plain PKCS#8 ``pkcs8_der``."""
    salt, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    key = kdf.derive(passphrase)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(pkcs8_der) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    pbkdf2_params = _seq(_octets(salt), _integer(iterations), _integer(32),
                         _seq(_oid(_OID_HMAC_SHA256), _NULL))
    pbes2_params = _seq(_seq(_oid(_OID_PBKDF2), pbkdf2_params), _seq(_oid(_OID_AES256_CBC), _octets(iv)))
    return _seq(_seq(_oid(_OID_PBES2), pbes2_params), _octets(ciphertext))


# --- a minimal DER writer: only the five types the structure above needs -------------------

def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def _integer(value: int) -> bytes:
    # non-negative only; the extra byte keeps the sign bit clear
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _oid(dotted: str) -> bytes:
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


_NULL = b"\x05\x00"
