"""Helpers shared by the keystore tests: keys made once, and the Ed25519 vector of protocol §4.4."""

from __future__ import annotations

import base64
import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from core.keys import formats
from core.keys.types import KeyType, PrivateKey

VECTOR_SEED = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
VECTOR_SPKI_HEX = "302a300506032b657003210003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
VECTOR_SPKI_B64 = "MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
VECTOR_PKCS8_BODY = "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
VECTOR_SIGNATURES = {
    "algorithm-provider": "apXdzP7riCYfLEQZT2HBMYRmQqJfpwOVmR9dmD7MzX+uRfLIO4tyxDPqYKIhvkYNJ5n/BddmVFj58CoM1RXYDw==",
    "data-provider": "9XdrMCPRQrH5aJp6156MCbp4tsf3a77YTI/hD/eeLqEefZ3c8m1hNktHgc3FkwDwIm9OvK41zpgUJaum5b1LBw==",
    "consumer": "xjejtn24J5FomNbX6tfqSEUtqHMp9lFhiOFpzvl3+ZhJ4/l6GBYcCyb/1dQIUoNDwudI++XxhOrvTsAG8ONLBw==",
}


def vector_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(VECTOR_SEED)


@functools.lru_cache(maxsize=None)
def key_of(kind: KeyType) -> PrivateKey:
    """One key per type per test session: RSA-4096 generation takes seconds."""
    return formats.generate_private_key(kind)


def pkcs8_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def traditional_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def secret_needles(key: PrivateKey) -> list[bytes]:
    """Byte strings that must never appear in a file at rest: the key in every common encoding."""
    needles = [formats.pkcs8_der(key)]
    pem = pkcs8_pem(key)
    # whole 64-character lines only: a short last line could occur by chance in random bytes
    needles += [line for line in pem.splitlines() if len(line) == 64 and not line.startswith(b"-----")]
    needles.append(base64.b64encode(formats.pkcs8_der(key)))
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        needles.append(key.private_bytes(serialization.Encoding.DER,
                                         serialization.PrivateFormat.TraditionalOpenSSL,
                                         serialization.NoEncryption()))
    else:
        needles.append(key.private_bytes_raw())
    return needles
