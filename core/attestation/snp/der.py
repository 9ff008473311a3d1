"""The few DER primitives the AMD certificate extensions need, bounds-checked.

Every malformed input raises ``SnpDerError`` (an ``EvidenceError``), never IndexError.
"""

from __future__ import annotations

from core.errors import EvidenceError

TAG_INTEGER = 0x02
TAG_OCTET_STRING = 0x04
TAG_IA5STRING = 0x16
TAG_SEQUENCE = 0x30


class SnpDerError(EvidenceError):
    code = "snp-der"


def read_tlv(data: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """Read one TLV at ``pos``: (tag, value, position after it)."""
    if pos + 2 > len(data):
        raise SnpDerError("DER value is truncated (no room for tag and length)")
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise SnpDerError("DER length is malformed or truncated")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise SnpDerError(f"DER value claims {length} bytes but only {len(data) - pos} remain")
    return tag, data[pos:end], end


def read_single(data: bytes, expected_tag: int, what: str) -> bytes:
    """The value of a DER element that must fill ``data`` exactly and carry ``expected_tag``."""
    tag, value, end = read_tlv(data)
    if tag != expected_tag:
        raise SnpDerError(f"{what}: expected DER tag 0x{expected_tag:02x}, found 0x{tag:02x}")
    if end != len(data):
        raise SnpDerError(f"{what}: {len(data) - end} unexpected trailing bytes after the DER value")
    return value


def read_integer(data: bytes, what: str) -> int:
    value = read_single(data, TAG_INTEGER, what)
    if not value:
        raise SnpDerError(f"{what}: empty DER INTEGER")
    return int.from_bytes(value, "big", signed=True)


def read_ia5(data: bytes, what: str) -> str:
    value = read_single(data, TAG_IA5STRING, what)
    try:
        return value.decode("ascii")
    except UnicodeDecodeError as exc:
        raise SnpDerError(f"{what}: IA5String holds non-ASCII bytes") from exc


def encode_tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + value


def encode_integer(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)  # room for the sign bit: 219 -> 00 db
    return encode_tlv(TAG_INTEGER, value.to_bytes(size, "big", signed=True))
