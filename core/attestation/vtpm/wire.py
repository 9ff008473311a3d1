"""Just enough of the protobuf wire format to read and write ``attest.Attestation`` by hand.

Generated code would accept the same bytes, but a reader this small is easy to audit: every
length is bounded by the input, unknown fields are skipped, any malformation is one typed error.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.attestation.vtpm.errors import AttestationFormatError

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5


def _varint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    value = 0
    for i in range(10):
        if pos + i >= len(data):
            raise AttestationFormatError(f"the {what} is truncated inside a number (at byte {pos + i})")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value & 0xFFFF_FFFF_FFFF_FFFF, pos + i + 1
    raise AttestationFormatError(f"the {what} holds a number longer than 10 bytes; it is not protobuf")


def fields(data: bytes, what: str) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) for each field of one message, in wire order."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos, what)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise AttestationFormatError(f"the {what} uses field number 0, which protobuf forbids")
        if wire_type == VARINT:
            value, pos = _varint(data, pos, what)
            yield number, wire_type, value
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            if size > len(data) - pos:
                raise AttestationFormatError(f"the {what} is truncated inside field {number}")
            yield number, wire_type, int.from_bytes(data[pos:pos + size], "little")
            pos += size
        elif wire_type == LEN:
            size, pos = _varint(data, pos, what)
            if size > len(data) - pos:
                raise AttestationFormatError(
                    f"field {number} of the {what} claims {size} bytes but only {len(data) - pos} remain; "
                    "the evidence is truncated")
            yield number, wire_type, bytes(data[pos:pos + size])
            pos += size
        else:
            raise AttestationFormatError(
                f"field {number} of the {what} has wire type {wire_type}, which it never uses; "
                "this is not the expected protobuf message")


def want_bytes(number: int, wire_type: int, value: int | bytes, what: str) -> bytes:
    if wire_type != LEN or not isinstance(value, bytes):
        raise AttestationFormatError(f"field {number} of the {what} should hold bytes but holds a number")
    return value


def want_int(number: int, wire_type: int, value: int | bytes, what: str) -> int:
    if wire_type != VARINT or not isinstance(value, int):
        raise AttestationFormatError(f"field {number} of the {what} should hold a number but holds bytes")
    return value


def _encode_varint(value: int) -> bytes:
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
    return _encode_varint(number << 3 | VARINT) + _encode_varint(value)


def bytes_field(number: int, value: bytes, *, keep_empty: bool = False) -> bytes:
    """A LEN field (bytes or an embedded message); empty values are omitted as in proto3."""
    if not value and not keep_empty:
        return b""
    return _encode_varint(number << 3 | LEN) + _encode_varint(len(value)) + value
