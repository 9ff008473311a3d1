"""The protobuf wire format of ``attest.Attestation`` (``core.protowire``) with the vTPM's own error.

Every malformation is an ``AttestationFormatError`` (code ``vtpm-attestation``), so a caller can
tell a broken vTPM wrapper from other bad evidence.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.attestation.vtpm.errors import AttestationFormatError
from core.protowire import (
    FIXED32, FIXED64, LEN, VARINT, WireField, bytes_field, expect_bytes, expect_int, iter_fields, varint_field,
)

__all__ = ["FIXED32", "FIXED64", "LEN", "VARINT", "bytes_field", "fields", "varint_field", "want_bytes",
           "want_int"]


def fields(data: bytes, what: str) -> Iterator[WireField]:
    """Yield (field number, wire type, value) for each field of one message, in wire order."""
    return iter_fields(data, what, error=AttestationFormatError)


def want_bytes(number: int, wire_type: int, value: int | bytes, what: str) -> bytes:
    return expect_bytes(WireField(number, wire_type, value), what, error=AttestationFormatError)


def want_int(number: int, wire_type: int, value: int | bytes, what: str) -> int:
    return expect_int(WireField(number, wire_type, value), what, varint_only=True, error=AttestationFormatError)
