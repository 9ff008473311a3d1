"""Decode a Cocos EAT (Entity Attestation Token; ATTESTATION.md §1.1-§1.3).

The token arrives from ``AgentService/Attestation`` or inside the aTLS ``cmw_attestation``
payload, as CBOR COSE_Sign1 (the default) or as a compact JWT. Which key signs it: the Cocos
attestation-service signs with an ephemeral P-256 key generated at each service start, which is
never published nor certified, and which is neither the aTLS leaf key nor a TEE attestation key.
So the signature proves nothing about the platform: ``verify_eat_signature`` exists for tokens
whose key the caller knows (our own sandbox), and trust comes only from ``raw_report`` (routed by
``eat_report.hardware_report``) and its binding to the session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from core.attestation.eat_claims import EatClaims, EatError, build_claims
from core.attestation.eat_forms import MAX_TOKEN_SIZE, decode_envelope

__all__ = ["Eat", "EatError", "EatKeyError", "decode_eat", "verify_eat_signature"]

#: algorithm -> (curve, hash, size of r and s) for the ECDSA algorithms EATs use
_ECDSA = {
    "ES256": (ec.SECP256R1, hashes.SHA256, 32),
    "ES384": (ec.SECP384R1, hashes.SHA384, 48),
    "ES512": (ec.SECP521R1, hashes.SHA512, 66),
}


class EatKeyError(EatError):
    """The key given to check an EAT signature cannot check this token's algorithm."""

    code = "eat-key"


@dataclass(frozen=True, slots=True)
class Eat:
    """A decoded EAT. ``claims`` hold every claim by name; the envelope fields say what was signed."""

    raw: bytes
    form: str                            # "cose" | "jwt" | "cbor" (unsigned legacy claims)
    algorithm: str                       # "ES256" for Cocos; "" when unsigned
    protected_header: Mapping[Any, Any]  # COSE: {1: -7}; JWT: {"alg": "ES256", "typ": "JWT"}
    unprotected_header: Mapping[Any, Any]
    signed_bytes: bytes                  # COSE Sig_structure or JWS signing input
    signature: bytes                     # raw r || s for ECDSA
    claims: EatClaims

    @property
    def nonce(self) -> bytes:
        return self.claims.nonce

    @property
    def platform_type(self) -> str:
        return self.claims.platform_type

    @property
    def raw_report(self) -> bytes:
        return self.claims.raw_report

    @property
    def issuer(self) -> str | None:
        return self.claims.issuer

    @property
    def iat(self) -> int | None:
        return self.claims.iat

    @property
    def exp(self) -> int | None:
        return self.claims.exp

    @property
    def measurements(self) -> bytes | None:
        return self.claims.measurements

    @property
    def key_id(self) -> bytes | None:
        """COSE kid (header 4): Cocos puts the issuer name there, not a key reference."""
        kid = self.unprotected_header.get(4, self.protected_header.get(4))
        return kid if isinstance(kid, bytes) else None


def decode_eat(data: bytes) -> Eat:
    """Decode a COSE_Sign1 (tagged or untagged), JWT or plain-CBOR EAT. Raises EatError.

    The signature is not checked here (see the module docstring for why it carries no trust).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise EatError(f"an EAT must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise EatError("the EAT is empty; the agent returned no attestation token")
    if len(data) > MAX_TOKEN_SIZE:
        raise EatError(f"the EAT is {len(data)} bytes, above the {MAX_TOKEN_SIZE}-byte limit; "
                       "it is not a real token")
    env = decode_envelope(data)
    return Eat(
        raw=data, form=env.form, algorithm=env.algorithm, protected_header=env.protected_header,
        unprotected_header=env.unprotected_header, signed_bytes=env.signed_bytes,
        signature=env.signature, claims=build_claims(env.claims, from_text=env.form == "jwt"),
    )


def verify_eat_signature(eat: Eat, public_key: Any) -> bool:
    """True when ``public_key`` made the token's signature over its signed bytes.

    Raises EatKeyError when the token is unsigned or the key type cannot check its algorithm.
    """
    if eat.form == "cbor" or not eat.algorithm:
        raise EatKeyError("this EAT is plain CBOR claims without a signature; there is nothing to check")
    if eat.algorithm == "EdDSA":
        if not isinstance(public_key, ed25519.Ed25519PublicKey):
            raise EatKeyError("the EAT is signed with EdDSA but the key given is not an Ed25519 key")
        try:
            public_key.verify(eat.signature, eat.signed_bytes)
        except InvalidSignature:
            return False
        return True
    if eat.algorithm not in _ECDSA:
        raise EatKeyError(f"the EAT signing algorithm {eat.algorithm!r} is not supported")
    curve, hash_cls, size = _ECDSA[eat.algorithm]
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, curve):
        raise EatKeyError(f"the EAT is signed with {eat.algorithm}, which needs an EC {curve.name} "
                          "public key; the key given is of another type")
    if len(eat.signature) != 2 * size:
        return False
    r = int.from_bytes(eat.signature[:size], "big")
    s = int.from_bytes(eat.signature[size:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), eat.signed_bytes, ec.ECDSA(hash_cls()))
    except InvalidSignature:
        return False
    return True
