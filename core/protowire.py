"""A small, bounded reader and writer for the protobuf wire format.

Evidence carries protobuf messages (``sevsnp.Attestation``, ``attest.Attestation``; ATTESTATION.md
§1.4-§1.5) and the agent's health check answers in one. We read only the few fields we need, so a
hand-written reader is easier to audit than generated code: every length is bounded by the input,
unknown fields are skipped, and any malformation is one typed error. Each caller names the error
class it raises (``error=``), so the vTPM parser keeps its own code and the EAT wrappers theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from core.errors import EvidenceError

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
MAX_VARINT_BYTES = 10
_UINT64 = 0xFFFF_FFFF_FFFF_FFFF


class ProtobufWireError(EvidenceError):
    """Protobuf bytes that do not follow the wire format (or hold the wrong kind of field)."""

    code = "bad-protobuf"


#: what the reader raises: an error class taking the message
ErrorClass = Callable[[str], Exception]


class WireField(NamedTuple):
    """One field as read off the wire (a tuple, so ``number, wire_type, value = field`` works)."""

    number: int
    wire_type: int
    value: int | bytes  # int for VARINT/FIXED32/FIXED64, bytes for LEN


Fields = dict[int, list[WireField]]


# --- reading -----------------------------------------------------------------------------------

def read_varint(data: bytes, pos: int, what: str = "protobuf message", *,
                error: ErrorClass = ProtobufWireError) -> tuple[int, int]:
    """The unsigned varint at ``pos`` (taken modulo 2**64, as protobuf does) and the next position."""
    result = 0
    for i in range(MAX_VARINT_BYTES):
        if pos + i >= len(data):
            raise error(f"the {what} ends inside a number (byte {pos + i} of {len(data)}); "
                        "the evidence is truncated")
        byte = data[pos + i]
        result |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return result & _UINT64, pos + i + 1
    raise error(f"the {what} holds a number longer than {MAX_VARINT_BYTES} bytes; it is not protobuf")


def iter_fields(data: bytes, what: str = "protobuf message", *,
                error: ErrorClass = ProtobufWireError) -> Iterator[WireField]:
    """Yield every field of one message in wire order; raise ``error`` on any malformation."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos, what, error=error)
        number, wire_type = key >> 3, key & 0x7
        if number == 0:
            raise error(f"the {what} uses field number 0, which protobuf forbids")
        if wire_type == VARINT:
            value, pos = read_varint(data, pos, what, error=error)
            yield WireField(number, wire_type, value)
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            if size > len(data) - pos:
                raise error(f"the {what} ends inside field {number}; the evidence is truncated")
            yield WireField(number, wire_type, int.from_bytes(data[pos:pos + size], "little"))
            pos += size
        elif wire_type == LEN:
            length, pos = read_varint(data, pos, what, error=error)
            if length > len(data) - pos:
                raise error(f"field {number} of the {what} claims {length} bytes but only "
                            f"{len(data) - pos} remain; the evidence is truncated")
            yield WireField(number, wire_type, bytes(data[pos:pos + length]))
            pos += length
        else:  # groups (3, 4) and the unassigned 6, 7: nothing we read uses them
            raise error(f"field {number} of the {what} has wire type {wire_type}, which this evidence "
                        "never uses; it is not the expected protobuf")


def collect(data: bytes, what: str = "protobuf message", *,
            error: ErrorClass = ProtobufWireError) -> Fields:
    """Group a message's fields by number (repeated fields keep their order)."""
    out: Fields = {}
    for field in iter_fields(data, what, error=error):
        out.setdefault(field.number, []).append(field)
    return out


def expect_bytes(field: WireField, what: str, *, error: ErrorClass = ProtobufWireError) -> bytes:
    """The value of a bytes/string/message field; ``error`` when the field holds a number."""
    if field.wire_type != LEN or not isinstance(field.value, bytes):
        raise error(f"field {field.number} of the {what} should hold bytes but holds a number")
    return field.value


def expect_int(field: WireField, what: str, *, varint_only: bool = False,
               error: ErrorClass = ProtobufWireError) -> int:
    """The value of a number field; ``varint_only`` refuses the fixed-size encodings too."""
    if not isinstance(field.value, int):
        raise error(f"field {field.number} of the {what} should hold a number but holds bytes")
    if varint_only and field.wire_type != VARINT:
        raise error(f"field {field.number} of the {what} should hold a varint but holds a "
                    f"fixed-size number (wire type {field.wire_type})")
    return field.value


def last_int(fields: Fields, number: int, what: str, *, error: ErrorClass = ProtobufWireError) -> int:
    """The last value of a scalar field (protobuf's "last one wins"), 0 when absent."""
    values = fields.get(number)
    return expect_int(values[-1], what, error=error) if values else 0


def last_bytes(fields: Fields, number: int, what: str, *, error: ErrorClass = ProtobufWireError) -> bytes:
    """The last value of a bytes/message field, b"" when absent."""
    values = fields.get(number)
    return expect_bytes(values[-1], what, error=error) if values else b""


def all_bytes(fields: Fields, number: int, what: str, *,
              error: ErrorClass = ProtobufWireError) -> list[bytes]:
    """Every value of a repeated bytes/message field, in wire order."""
    return [expect_bytes(field, what, error=error) for field in fields.get(number, [])]


# --- writing (our own evidence for the sandbox and tests, the health check request) -----------

def encode_varint(value: int) -> bytes:
    """``value`` as a varint; a negative int64 takes ten bytes (two's complement), as in protobuf."""
    if not -(1 << 63) <= value < (1 << 64):
        raise ValueError(f"{value} does not fit a 64-bit protobuf integer")
    value &= _UINT64
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def varint_field(number: int, value: int, *, keep_zero: bool = False) -> bytes:
    """A VARINT field; proto3 omits zero unless it is a map key (``keep_zero``)."""
    if value == 0 and not keep_zero:
        return b""
    return _key(number, VARINT) + encode_varint(value)


def bytes_field(number: int, value: bytes, *, keep_empty: bool = False) -> bytes:
    """A LEN field (bytes or an embedded message); proto3 omits empty values unless ``keep_empty``."""
    if not value and not keep_empty:
        return b""
    return _key(number, LEN) + encode_varint(len(value)) + bytes(value)


def _key(number: int, wire_type: int) -> bytes:
    if not 1 <= number < (1 << 29):
        raise ValueError(f"{number} is not a protobuf field number (1 to 2**29 - 1)")
    return encode_varint(number << 3 | wire_type)
