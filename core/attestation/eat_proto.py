"""A minimal protobuf wire-format reader and writer for the evidence wrappers inside an EAT.

Cocos puts protobuf messages (``sevsnp.Attestation``, ``attest.Attestation``; ATTESTATION.md
§1.4-§1.5) into ``raw_report``. We read only the handful of fields we need, so a small
hand-written reader is safer than generated code: every length is bounded by the input, unknown
fields are skipped, and any malformation is one typed error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from core.errors import EvidenceError

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
_MAX_VARINT_BYTES = 10


class ProtobufError(EvidenceError):
    """Protobuf bytes in the evidence do not follow the wire format."""

    code = "bad-protobuf"


@dataclass(frozen=True, slots=True)
class WireField:
    number: int
    wire_type: int
    value: int | bytes  # int for VARINT/FIXED32/FIXED64, bytes for LEN


def _varint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    result = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= len(data):
            raise ProtobufError(f"the {what} ends inside a number (byte {pos + i} of {len(data)}); "
                                "the evidence is truncated")
        byte = data[pos + i]
        result |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return result & 0xFFFF_FFFF_FFFF_FFFF, pos + i + 1
    raise ProtobufError(f"the {what} holds a number longer than 10 bytes; it is not protobuf")


def iter_fields(data: bytes, what: str = "protobuf message") -> Iterator[WireField]:
    """Yield every field of one message in wire order; raise ProtobufError on malformation."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos, what)
        number, wire_type = key >> 3, key & 0x7
        if number == 0:
            raise ProtobufError(f"the {what} uses field number 0, which protobuf forbids")
        if wire_type == VARINT:
            value, pos = _varint(data, pos, what)
            yield WireField(number, wire_type, value)
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            if pos + size > len(data):
                raise ProtobufError(f"the {what} ends inside field {number}; the evidence is truncated")
            yield WireField(number, wire_type, int.from_bytes(data[pos:pos + size], "little"))
            pos += size
        elif wire_type == LEN:
            length, pos = _varint(data, pos, what)
            if length > len(data) - pos:
                raise ProtobufError(
                    f"field {number} of the {what} claims {length} bytes but only {len(data) - pos} "
                    "remain; the evidence is truncated")
            yield WireField(number, wire_type, bytes(data[pos:pos + length]))
            pos += length
        else:
            raise ProtobufError(f"field {number} of the {what} has wire type {wire_type}, "
                                "which this evidence never uses; it is not the expected protobuf")


def collect(data: bytes, what: str) -> dict[int, list[WireField]]:
    """Group a message's fields by number (repeated fields keep their order)."""
    out: dict[int, list[WireField]] = {}
    for f in iter_fields(data, what):
        out.setdefault(f.number, []).append(f)
    return out


def last_int(fields: dict[int, list[WireField]], number: int, what: str) -> int:
    """The last value of a scalar field (protobuf's "last one wins"), 0 when absent."""
    values = fields.get(number)
    if not values:
        return 0
    f = values[-1]
    if not isinstance(f.value, int):
        raise ProtobufError(f"field {number} of the {what} should be a number but holds bytes")
    return f.value


def last_bytes(fields: dict[int, list[WireField]], number: int, what: str) -> bytes:
    """The last value of a bytes/message field, b"" when absent."""
    values = fields.get(number)
    if not values:
        return b""
    f = values[-1]
    if not isinstance(f.value, bytes):
        raise ProtobufError(f"field {number} of the {what} should hold bytes but holds a number")
    return f.value


def all_bytes(fields: dict[int, list[WireField]], number: int, what: str) -> list[bytes]:
    """Every value of a repeated bytes/message field."""
    out = []
    for f in fields.get(number, []):
        if not isinstance(f.value, bytes):
            raise ProtobufError(f"field {number} of the {what} should hold bytes but holds a number")
        out.append(f.value)
    return out


# --- writing (used to build our own evidence for the sandbox and tests) -----------------------

def _encode_varint(value: int) -> bytes:
    value &= 0xFFFF_FFFF_FFFF_FFFF
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_varint_field(number: int, value: int) -> bytes:
    """A VARINT field; proto3 omits zero values, so do we."""
    if value == 0:
        return b""
    return _encode_varint(number << 3 | VARINT) + _encode_varint(value)


def encode_bytes_field(number: int, value: bytes) -> bytes:
    """A LEN field (bytes or an embedded message); empty values are omitted as in proto3."""
    if not value:
        return b""
    return _encode_varint(number << 3 | LEN) + _encode_varint(len(value)) + value
