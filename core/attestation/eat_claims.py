"""The claims of a Cocos EAT, by name, whatever the token's form (ATTESTATION.md §1.1).

CBOR tokens use RFC 9711/8392 integer keys for the standard claims; JWT tokens use the names
and carry bytes as standard base64 text. Both end up in one ``EatClaims`` so no caller has to
care which form arrived.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from core.errors import EvidenceError


class EatError(EvidenceError):
    """An EAT token (CBOR/COSE or JWT) that cannot be decoded."""

    code = "bad-eat"


#: integer claim keys (RFC 9711 EAT, RFC 8392 CWT) -> the names the JWT form uses
CBOR_CLAIM_NAMES: dict[int, str] = {
    1: "iss", 4: "exp", 6: "iat", 10: "eat_nonce", 256: "ueid", 258: "oemid", 259: "hwmodel",
    262: "intuse", 263: "dbgstat", 265: "measurements", 266: "submods",
}
_BYTES_CLAIMS = ("eat_nonce", "ueid", "hwmodel", "measurements", "raw_report")
_INT_CLAIMS = ("iat", "exp", "oemid", "dbgstat", "intuse")
#: platform_type values Cocos emits; anything else is still decoded, routing decides later
KNOWN_PLATFORMS = ("SNP", "SNP-vTPM", "TDX", "vTPM", "Azure", "NoCC")


@dataclass(frozen=True, slots=True)
class EatClaims:
    """Every claim §1.1 defines. Only ``raw_report`` carries trust; the rest is informative."""

    nonce: bytes                      # eat_nonce (10)
    platform_type: str                # selects the raw_report parser
    raw_report: bytes                 # the hardware evidence (b"" when absent)
    issuer: str | None = None         # iss (1)
    iat: int | None = None            # issue time, Unix seconds (6)
    exp: int | None = None            # expiry, Unix seconds (4)
    ueid: bytes | None = None         # 256
    oemid: int | None = None          # 258
    hwmodel: bytes | None = None      # 259, e.g. b"SEV-SNP-3" / b"Intel-TDX"
    dbgstat: int | None = None        # 263 (always 2 in Cocos; not hardware-derived)
    intuse: int | None = None         # 262
    measurements: bytes | None = None  # 265
    submods: Mapping[Any, Any] | None = None  # 266
    #: the unsigned convenience copies ("x-cocos-sevsnp", "x-cocos-tdx", ...), never for trust
    convenience: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: every claim by name, as decoded (CBOR integer keys translated), for display
    all: Mapping[Any, Any] = field(default_factory=lambda: MappingProxyType({}))


def _b64_claim(name: str, text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise EatError(f"the EAT claim {name!r} is not valid standard base64 ({exc}); "
                       "the token is malformed") from exc


def _bytes_claim(claims: Mapping[Any, Any], name: str, *, from_text: bool) -> bytes | None:
    value = claims.get(name)
    if value is None:
        return None
    if from_text and isinstance(value, str):
        return _b64_claim(name, value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise EatError(f"the EAT claim {name!r} should hold bytes but holds {type(value).__name__}; "
                   "the token is malformed")


def _int_claim(claims: Mapping[Any, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise EatError(f"the EAT claim {name!r} should be an integer but holds "
                       f"{type(value).__name__}; the token is malformed")
    return value


def _text_claim(claims: Mapping[Any, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EatError(f"the EAT claim {name!r} should be text but holds {type(value).__name__}; "
                       "the token is malformed")
    return value


def named_claims(raw: Mapping[Any, Any]) -> dict[Any, Any]:
    """Translate CBOR integer keys to claim names; other keys are kept as they are."""
    return {CBOR_CLAIM_NAMES.get(k, k) if isinstance(k, int) else k: v for k, v in raw.items()}


def build_claims(raw: Mapping[Any, Any], *, from_text: bool) -> EatClaims:
    """Type-check the claims map of a decoded token. ``from_text``: bytes arrive as base64 (JWT)."""
    if not isinstance(raw, Mapping):
        raise EatError(f"the EAT payload is a {type(raw).__name__}, not a map of claims; "
                       "this is not a Cocos EAT")
    claims = named_claims(raw)
    nonce = _bytes_claim(claims, "eat_nonce", from_text=from_text)
    if nonce is None:
        raise EatError("the EAT has no eat_nonce claim, so it cannot be tied to any request; "
                       "it is not a Cocos attestation token")
    platform = _text_claim(claims, "platform_type")
    if not platform:
        raise EatError("the EAT has no platform_type claim, so its hardware evidence cannot be "
                       "read; it is not a Cocos attestation token")
    submods = claims.get("submods")
    if submods is not None and not isinstance(submods, Mapping):
        raise EatError("the EAT claim 'submods' should be a map; the token is malformed")
    values = {name: _bytes_claim(claims, name, from_text=from_text) for name in _BYTES_CLAIMS}
    ints = {name: _int_claim(claims, name) for name in _INT_CLAIMS}
    convenience = {k: v for k, v in claims.items() if isinstance(k, str) and k.startswith("x-cocos-")}
    return EatClaims(
        nonce=nonce, platform_type=platform, raw_report=values["raw_report"] or b"",
        issuer=_text_claim(claims, "iss"), ueid=values["ueid"], hwmodel=values["hwmodel"],
        measurements=values["measurements"], submods=submods,
        convenience=MappingProxyType(convenience), all=MappingProxyType(claims), **ints,
    )
