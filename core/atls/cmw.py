"""The ``cmw_attestation`` extension payload (§12.5): evidence plus the binder to the session.

The payload is compact JSON as Go's ``json.Marshal`` writes it (fixed field order, ``[]byte``
as standard base64), carried in the leaf entry's 0xFF00 extension behind a u16 length.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from core.atls.errors import AtlsProtocolError

MEDIA_TYPE = "application/eat+cwt"  # sent even for JWT evidence (a misnomer kept for compatibility)
EXPORTER_LABEL = "Attestation"
ACCEPTED_LABELS = ("", EXPORTER_LABEL)  # "" means the default label


@dataclass(frozen=True, slots=True)
class CmwPayload:
    version: int
    media_type: str
    evidence: bytes                 # the EAT token
    exporter_label: str
    aik_pub_hash: bytes             # H(leaf SPKI DER), as the server claims it
    binding: bytes                  # H(leaf SPKI DER || exported_value), as the server claims it
    attestation_results: bytes = b""


def unwrap_extension(data: bytes) -> bytes:
    """The JSON payload inside the 0xFF00 extension data: ``u16 payload_len || payload``."""
    if len(data) < 2:
        raise AtlsProtocolError("the cmw_attestation extension is too short to hold its length",
                                code="atls-truncated")
    length = int.from_bytes(data[:2], "big")
    if length != len(data) - 2 or length == 0:
        raise AtlsProtocolError(f"the cmw_attestation extension announces {length} payload bytes but "
                                f"carries {len(data) - 2}; the inner length is inconsistent")
    return bytes(data[2:])


def wrap_extension(payload: bytes) -> bytes:
    if not payload or len(payload) > 0xFFFF - 2:
        raise AtlsProtocolError(f"a cmw_attestation payload of {len(payload)} bytes does not fit the "
                                "extension (1 to 65533 bytes)")
    return len(payload).to_bytes(2, "big") + payload


def _b64(obj: dict[str, Any], name: str, *, required: bool) -> bytes:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise AtlsProtocolError(f"attestation: missing {name} in the cmw_attestation payload",
                                    code="atls-cmw")
        return b""
    if not isinstance(value, str):
        raise AtlsProtocolError(f"the cmw_attestation field {name!r} should be base64 text",
                                code="atls-cmw")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise AtlsProtocolError(f"the cmw_attestation field {name!r} is not valid base64 ({exc})",
                                code="atls-cmw") from exc


def parse_cmw_payload(raw: bytes) -> CmwPayload:
    """Parse the JSON payload; structural problems raise AtlsProtocolError (code atls-cmw)."""
    try:
        obj = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise AtlsProtocolError(f"the cmw_attestation payload is not valid JSON ({exc})",
                                code="atls-cmw") from exc
    if not isinstance(obj, dict):
        raise AtlsProtocolError("the cmw_attestation payload is not a JSON object", code="atls-cmw")
    binder = obj.get("binder")
    if not isinstance(binder, dict):
        raise AtlsProtocolError("attestation: missing attestation binder", code="atls-cmw")
    version, media_type, label = obj.get("version"), obj.get("media_type", ""), binder.get("exporter_label", "")
    if isinstance(version, bool) or not isinstance(version, int):
        raise AtlsProtocolError("the cmw_attestation payload has no integer version", code="atls-cmw")
    if not isinstance(media_type, str) or not isinstance(label, str):
        raise AtlsProtocolError("the cmw_attestation media_type and exporter_label must be text",
                                code="atls-cmw")
    evidence = _b64(obj, "evidence", required=False)
    results = _b64(obj, "attestation_results", required=False)
    if not evidence and not results:
        raise AtlsProtocolError("attestation: missing evidence or attestation results", code="atls-cmw")
    return CmwPayload(version=version, media_type=media_type, evidence=evidence, exporter_label=label,
                      aik_pub_hash=_b64(binder, "aik_pub_hash", required=True),
                      binding=_b64(binder, "binding", required=True), attestation_results=results)


def encode_cmw_payload(evidence: bytes, aik_pub_hash: bytes, binding: bytes,
                       exporter_label: str = EXPORTER_LABEL) -> bytes:
    """The payload exactly as the Cocos agent writes it (field order of the Go struct)."""
    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode("ascii")
    obj = {"version": 1, "media_type": MEDIA_TYPE, "evidence": b64(evidence),
           "binder": {"exporter_label": exporter_label, "aik_pub_hash": b64(aik_pub_hash),
                      "binding": b64(binding)}}
    return json.dumps(obj, separators=(",", ":")).encode("ascii")
