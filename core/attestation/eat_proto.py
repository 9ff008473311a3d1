"""The protobuf wire format of the evidence wrappers inside an EAT (``core.protowire``).

Cocos puts protobuf messages (``sevsnp.Attestation``, ``attest.Attestation``; ATTESTATION.md
§1.4-§1.5) into ``raw_report``. The reader lives in ``core.protowire``; this module keeps the
names the EAT code uses, and its malformations are ``ProtobufError`` (code ``bad-protobuf``).
"""

from __future__ import annotations

from core.protowire import (
    FIXED32, FIXED64, LEN, VARINT, WireField, all_bytes, collect, iter_fields, last_bytes, last_int,
)
from core.protowire import ProtobufWireError as ProtobufError
from core.protowire import bytes_field as encode_bytes_field
from core.protowire import varint_field as encode_varint_field

__all__ = ["FIXED32", "FIXED64", "LEN", "VARINT", "ProtobufError", "WireField", "all_bytes", "collect",
           "encode_bytes_field", "encode_varint_field", "iter_fields", "last_bytes", "last_int"]
