"""Participant role signatures (Cocos protocol §4): the token an agent checks per RPC.

The signed message is the ASCII role string alone, so a signature is a static bearer token
per (key, role); the transport is what protects it.
"""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from core.errors import BadInput, UnknownKeyFormat, UnsupportedKeyType
from core.keys.formats import key_type_of
from core.keys.types import KeyType, PrivateKey

ROLES = ("algorithm-provider", "data-provider", "consumer")


def _role_bytes(role: str) -> bytes:
    if role not in ROLES:
        raise BadInput(f"unknown participant role {role!r}; the roles are {', '.join(ROLES)}")
    return role.encode("ascii")


def sign_role(key: PrivateKey, role: str) -> bytes:
    """The raw signature over ``role`` exactly as the agent verifies it (§4.2).

    RSA: PKCS#1 v1.5 with SHA-256; ECDSA: DER ECDSA-Sig-Value over SHA-256 (P-384 keys too,
    since the agent hashes with SHA-256 whatever the curve); Ed25519: over the raw role bytes.
    """
    message = _role_bytes(role)
    kind = key_type_of(key)
    if kind is KeyType.RSA:
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg]
    if kind in (KeyType.ECDSA_P256, KeyType.ECDSA_P384):
        return key.sign(message, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]
    return key.sign(message)  # type: ignore[call-arg]


def role_signature_b64(key: PrivateKey, role: str) -> str:
    """The ``signature`` gRPC metadata value: std base64 of ``sign_role``."""
    return base64.b64encode(sign_role(key, role)).decode("ascii")


def verify_role_signature(spki: bytes, role: str, signature: bytes) -> bool:
    """Whether ``signature`` is the holder of ``spki`` signing ``role`` — the agent's check.

    Like the agent, it accepts any RSA size and any ECDSA curve ``cryptography`` knows; a key
    that is not RSA, ECDSA or Ed25519 raises ``UnsupportedKeyType``, unparseable DER
    ``UnknownKeyFormat``.
    """
    message = _role_bytes(role)
    try:
        public = serialization.load_der_public_key(bytes(spki))
    except (ValueError, UnsupportedAlgorithm):
        raise UnknownKeyFormat("the participant key is not a DER SubjectPublicKeyInfo") from None
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(bytes(signature), message, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(bytes(signature), message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(bytes(signature), message)
        else:
            key_type_of(public)  # raises UnsupportedKeyType naming the algorithm
            raise UnsupportedKeyType("unsupported participant key type")  # pragma: no cover
    except InvalidSignature:
        return False
    return True
