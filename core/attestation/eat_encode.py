"""Encode EATs the way the Cocos attestation-service does (ATTESTATION.md §1.1).

Used by the sandbox's simulated TEE and by tests that must run without captured evidence.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from core.attestation.eat_claims import CBOR_CLAIM_NAMES, EatError
from core.attestation.eat_forms import COSE_SIGN1_TAG, sig_structure

ISSUER = "cocos-attestation-service"
_CLAIM_KEYS = {name: key for key, name in CBOR_CLAIM_NAMES.items()}
_HEX_COPIES = ("eat_nonce", "ueid", "measurements")  # the JWT form adds "<name>_hex" for these


def _sign_es256(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.name != "secp256r1":
        raise EatError("Cocos EATs are signed with ES256, which needs a P-256 private key")
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def encode_eat_cose(claims: Mapping[str, Any], private_key: ec.EllipticCurvePrivateKey, *,
                    tagged: bool = True) -> bytes:
    """A COSE_Sign1 EAT: protected {1: -7}, unprotected {4: kid = issuer}, ES256 signature.

    ``claims`` use the names of §1.1 ("eat_nonce", "platform_type", "raw_report", ...).
    """
    payload = cbor2.dumps({_CLAIM_KEYS.get(name, name): value for name, value in claims.items()})
    protected = cbor2.dumps({1: -7})
    signature = _sign_es256(private_key, sig_structure(protected, payload))
    body = [protected, {4: ISSUER.encode()}, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, body) if tagged else body)


def _jsonable(value: Any) -> Any:
    # Go's encoding/json writes []byte as standard base64 with padding.
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def encode_eat_jwt(claims: Mapping[str, Any], private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """The JWT form (ATTESTATION_EAT_FORMAT=JWT): ES256 JWS with base64 bytes and *_hex copies."""
    body = {name: _jsonable(value) for name, value in claims.items()}
    for name in _HEX_COPIES:
        value = claims.get(name)
        if isinstance(value, (bytes, bytearray)):
            body[f"{name}_hex"] = bytes(value).hex()
    header = _b64url(json.dumps({"alg": "ES256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(body, separators=(",", ":")).encode())
    signing_input = header + b"." + payload
    return signing_input + b"." + _b64url(_sign_es256(private_key, signing_input))
