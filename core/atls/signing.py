"""CertificateVerify signatures of an exported authenticator (RFC 9261 §5.2.2, §12.4).

The signed content is the TLS 1.3 form: 64 spaces, the context string "Exported
Authenticator", a zero byte, then the transcript hash TH1.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from core.atls.errors import AtlsProtocolError

ECDSA_SECP256R1_SHA256 = 0x0403
RSA_PSS_RSAE_SHA256 = 0x0804
ED25519 = 0x0807
SCHEME_NAMES = {ECDSA_SECP256R1_SHA256: "ecdsa_secp256r1_sha256",
                RSA_PSS_RSAE_SHA256: "rsa_pss_rsae_sha256", ED25519: "ed25519"}
#: what the app offers (§12.3): the reference client's P-256 plus RSA-PSS and Ed25519 (quirk 13)
DEFAULT_SCHEMES = (ECDSA_SECP256R1_SHA256, RSA_PSS_RSAE_SHA256, ED25519)
CONTEXT_STRING = b"Exported Authenticator"
CV_PREFIX = b"\x20" * 64 + CONTEXT_STRING + b"\x00"


def certificate_verify_input(th1: bytes) -> bytes:
    return CV_PREFIX + th1


def scheme_name(scheme: int) -> str:
    return SCHEME_NAMES.get(scheme, f"0x{scheme:04x}")


def key_fits_scheme(key: Any, scheme: int) -> bool:
    """Whether a public or private key can sign/verify with ``scheme``."""
    if scheme == ECDSA_SECP256R1_SHA256:
        return isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)) \
            and isinstance(key.curve, ec.SECP256R1)
    if scheme == RSA_PSS_RSAE_SHA256:
        return isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey))
    if scheme == ED25519:
        return isinstance(key, (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey))
    return False


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def verify_signature(public_key: Any, scheme: int, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` over ``data`` verifies; the caller checked key_fits_scheme."""
    try:
        if scheme == ECDSA_SECP256R1_SHA256:
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif scheme == RSA_PSS_RSAE_SHA256:
            public_key.verify(signature, data, _pss(), hashes.SHA256())
        elif scheme == ED25519:
            public_key.verify(signature, data)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def sign(private_key: Any, scheme: int, data: bytes) -> bytes:
    if not key_fits_scheme(private_key, scheme):
        raise AtlsProtocolError(f"ea: unsupported signature scheme {scheme_name(scheme)} for this key")
    if scheme == ECDSA_SECP256R1_SHA256:
        return private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    if scheme == RSA_PSS_RSAE_SHA256:
        return private_key.sign(data, _pss(), hashes.SHA256())
    return private_key.sign(data)


def pick_scheme(private_key: Any, offered: tuple[int, ...]) -> int:
    """The first offered scheme the key can use, as the Cocos server picks it."""
    for scheme in offered:
        if key_fits_scheme(private_key, scheme):
            return scheme
    raise AtlsProtocolError("ea: unsupported signature scheme: the client offered "
                            f"{[scheme_name(s) for s in offered]}, none usable with this key")
