"""The two envelopes of a Cocos EAT: CBOR COSE_Sign1 (RFC 9052) and compact JWS/JWT (RFC 7515).

Each decoder returns the same ``Envelope``: the header, the exact bytes the signature covers
(the COSE Sig_structure or the JWS signing input), the signature and the raw claims map. Claim
typing happens in eat_claims; trust decisions happen elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import cbor2

from core.attestation.eat_claims import EatError

COSE_SIGN1_TAG = 18
#: COSE algorithm ids (RFC 9053) -> JOSE names
COSE_ALGORITHMS = {-7: "ES256", -35: "ES384", -36: "ES512", -8: "EdDSA"}
#: a bound well above any real token (the aTLS frame limit), so a hostile length cannot exhaust memory
MAX_TOKEN_SIZE = 16 * 1024 * 1024
_EMPTY: Mapping[Any, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Envelope:
    form: str                          # "cose" | "jwt" | "cbor" (unsigned legacy claims)
    algorithm: str                     # "ES256", ... ; "" when unsigned
    protected_header: Mapping[Any, Any]
    protected_raw: bytes               # the serialized protected header as signed
    unprotected_header: Mapping[Any, Any]
    signed_bytes: bytes                # Sig_structure (COSE) or JWS signing input
    signature: bytes                   # raw signature (r || s for ECDSA)
    claims: Any                        # the undecoded claims map (typed in eat_claims)


def cbor_loads(data: bytes, what: str) -> Any:
    """cbor2.loads with every failure turned into EatError.

    cbor2 reads long strings in chunks and caps nesting depth, so a hostile length or depth
    fails fast; any other exception from a malformed item (bad tag content, huge bignum ...)
    is still the input's fault, hence the broad catch.
    """
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except RecursionError as exc:
        raise EatError(f"the {what} is nested too deeply to be a real token") from exc
    except Exception as exc:  # noqa: BLE001 - see docstring
        raise EatError(f"the {what} is not valid CBOR ({exc}); the token is corrupt or truncated") from exc
    if stream.tell() != len(data):
        raise EatError(f"{len(data) - stream.tell()} bytes follow the {what}; the token is corrupt")
    return item


def sig_structure(protected_raw: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """The bytes a COSE_Sign1 signature covers (RFC 9052 §4.4)."""
    return cbor2.dumps(["Signature1", protected_raw, external_aad, payload])


def _header_map(raw: bytes) -> Mapping[Any, Any]:
    if not raw:
        return _EMPTY
    header = cbor_loads(raw, "COSE protected header")
    if not isinstance(header, Mapping):
        raise EatError("the COSE protected header is not a map; the token is malformed")
    return MappingProxyType(dict(header))


def _cose_algorithm(protected: Mapping[Any, Any]) -> str:
    alg = protected.get(1)
    if alg is None:
        raise EatError("the COSE token names no signing algorithm (header 1); it is malformed")
    if isinstance(alg, bool) or not isinstance(alg, int) or alg not in COSE_ALGORITHMS:
        raise EatError(f"the COSE token uses signing algorithm {alg!r}, which this app does not know")
    return COSE_ALGORITHMS[alg]


def decode_cose(item: Any) -> Envelope:
    """Decode an already CBOR-decoded COSE_Sign1 (tagged or the bare 4-element array)."""
    if isinstance(item, cbor2.CBORTag):
        if item.tag != COSE_SIGN1_TAG:
            raise EatError(f"the token carries CBOR tag {item.tag}, not 18 (COSE_Sign1)")
        item = item.value
    if not isinstance(item, (list, tuple)) or len(item) != 4:
        raise EatError("a COSE_Sign1 is an array of four items (protected, unprotected, payload, "
                       "signature); this token is not")
    protected_raw, unprotected, payload, signature = item
    if not isinstance(protected_raw, bytes) or not isinstance(unprotected, Mapping):
        raise EatError("the COSE_Sign1 headers have the wrong types; the token is malformed")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise EatError("the COSE_Sign1 payload or signature is not a byte string; "
                       "detached payloads are not used by Cocos")
    protected = _header_map(protected_raw)
    return Envelope(
        form="cose", algorithm=_cose_algorithm(protected), protected_header=protected,
        protected_raw=protected_raw, unprotected_header=MappingProxyType(dict(unprotected)),
        signed_bytes=sig_structure(protected_raw, payload), signature=signature,
        claims=cbor_loads(payload, "EAT claims"),
    )


def _b64url(part: bytes, what: str) -> bytes:
    if b"=" in part:
        raise EatError(f"the JWT {what} is padded; compact JWS uses unpadded base64url")
    try:
        return base64.b64decode(part + b"=" * (-len(part) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EatError(f"the JWT {what} is not valid base64url ({exc}); the token is corrupt") from exc


def _json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError as exc:
        raise EatError(f"the JWT {what} is nested too deeply to be a real token") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise EatError(f"the JWT {what} is not valid JSON ({exc}); the token is corrupt") from exc


def looks_like_jwt(data: bytes) -> bool:
    """§1.1: a '.' somewhere and no NUL byte in the first 10 bytes.

    We also require plain ASCII, which every compact JWS is, so that binary CBOR (an untagged
    COSE_Sign1) that happens to contain 0x2E is not mistaken for a JWT.
    """
    return b"." in data and b"\x00" not in data[:10] and data.isascii()


def decode_jwt(data: bytes) -> Envelope:
    """Decode a compact JWS ``header.payload.signature`` whose payload is JSON claims."""
    text = data.strip()
    parts = text.split(b".")
    if len(parts) != 3:
        raise EatError(f"a compact JWT has three dot-separated parts; this token has {len(parts)}")
    header = _json(_b64url(parts[0], "header"), "header")
    if not isinstance(header, dict):
        raise EatError("the JWT header is not a JSON object; the token is malformed")
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg or alg == "none":
        raise EatError(f"the JWT names no usable signing algorithm (alg={alg!r}); it is malformed")
    return Envelope(
        form="jwt", algorithm=alg, protected_header=MappingProxyType(header), protected_raw=parts[0],
        unprotected_header=_EMPTY, signed_bytes=parts[0] + b"." + parts[1],
        signature=_b64url(parts[2], "signature"), claims=_json(_b64url(parts[1], "payload"), "payload"),
    )


def decode_envelope(data: bytes) -> Envelope:
    """Detect the form (§1.3 step 1) and decode it."""
    if data[:1] == b"\xd2":
        return decode_cose(cbor_loads(data, "COSE_Sign1 token"))
    if looks_like_jwt(data):
        return decode_jwt(data)
    item = cbor_loads(data, "EAT token")
    if isinstance(item, (cbor2.CBORTag, list, tuple)):
        return decode_cose(item)  # untagged COSE_Sign1 or another tag (rejected there)
    return Envelope(form="cbor", algorithm="", protected_header=_EMPTY, protected_raw=b"",
                    unprotected_header=_EMPTY, signed_bytes=b"", signature=b"", claims=item)
