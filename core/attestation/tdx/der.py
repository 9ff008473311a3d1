"""A minimal strict DER reader for the SGX certificate extension.

``cryptography`` hands us the extension's value as opaque bytes (Intel's OIDs are not standard),
so we walk it ourselves. Only definite-length, single-byte-tag encodings are accepted: that is
all DER allows for the types Intel uses, and refusing the rest keeps the reader small and safe.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import TdxEvidenceError

TAG_BOOLEAN = 0x01
TAG_INTEGER = 0x02
TAG_OCTET_STRING = 0x04
TAG_OID = 0x06
TAG_ENUMERATED = 0x0A
TAG_SEQUENCE = 0x30

_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes


def _bad(what: str) -> TdxEvidenceError:
    return TdxEvidenceError(
        f"the PCK certificate's SGX extension is malformed ({what}); the certificate is damaged "
        "or not an Intel PCK certificate",
        code="tdx-bad-pck-extension",
    )


def read_tlvs(data: bytes) -> list[Tlv]:
    """Split ``data`` into consecutive TLVs; the bytes must be consumed exactly."""
    items: list[Tlv] = []
    pos = 0
    while pos < len(data):
        tag = data[pos]
        if tag & 0x1F == 0x1F:
            raise _bad("multi-byte tag")
        length, pos = _read_length(data, pos + 1)
        end = pos + length
        if end > len(data):
            raise _bad(f"element of {length} bytes overruns its container")
        items.append(Tlv(tag, data[pos:end]))
        pos = end
    return items


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise _bad("missing length")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4:
        raise _bad("indefinite or oversized length")
    if pos + 1 + count > len(data):
        raise _bad("truncated length")
    length = int.from_bytes(data[pos + 1 : pos + 1 + count], "big")
    if length < 0x80 or data[pos + 1] == 0:
        raise _bad("non-minimal length encoding")
    return length, pos + 1 + count


def read_one(data: bytes, tag: int) -> bytes:
    """The value of the single TLV that must make up ``data``."""
    items = read_tlvs(data)
    if len(items) != 1 or items[0].tag != tag:
        raise _bad(f"expected one element with tag 0x{tag:02x}")
    return items[0].value


def expect(tlv: Tlv, tag: int, what: str) -> bytes:
    if tlv.tag != tag:
        raise _bad(f"{what} has tag 0x{tlv.tag:02x}, expected 0x{tag:02x}")
    return tlv.value


def decode_oid(value: bytes) -> str:
    if not value or value[-1] & 0x80:
        raise _bad("bad object identifier")
    arcs: list[int] = []
    current = 0
    for byte in value:
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(current)
            current = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def decode_unsigned(value: bytes, what: str) -> int:
    """An INTEGER/ENUMERATED that must be non-negative (SVNs, types)."""
    if not value or len(value) > 9:
        raise _bad(f"{what} has a bad length")
    if value[0] & 0x80:
        raise _bad(f"{what} is negative")
    return int.from_bytes(value, "big")


def decode_boolean(value: bytes, what: str) -> bool:
    if len(value) != 1 or value[0] not in (0x00, 0xFF):
        raise _bad(f"{what} is not a DER BOOLEAN")
    return value[0] == 0xFF
