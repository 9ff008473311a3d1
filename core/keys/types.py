"""The key types a participant can hold, and the aliases for their ``cryptography`` classes."""

from __future__ import annotations

from enum import Enum
from typing import Union

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


class KeyType(str, Enum):
    """A participant key type; the value is the stable name used in files and the CLI."""

    RSA = "rsa"  # generated as RSA-4096, imported from 2048 bits up
    ECDSA_P256 = "ecdsa-p256"
    ECDSA_P384 = "ecdsa-p384"
    ED25519 = "ed25519"


PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey]
PublicKey = Union[rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey]

#: what a keystore entry is for: a participant's signing key, the local CA's key, a TLS key
PURPOSES = ("participant", "ca", "tls")

#: RSA keys below this size are refused (NIST SP 800-131A disallows them for signatures)
MIN_RSA_BITS = 2048
#: the size of the RSA keys Prism generates, the size cocos-cli generates too
GENERATED_RSA_BITS = 4096
