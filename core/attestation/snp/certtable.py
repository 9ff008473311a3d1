"""The certificate table of an extended SNP report (GHCB / configfs-tsm auxblob, §2.7).

24-byte entries ``{GUID[16], offset u32 LE, length u32 LE}`` end with an all-zero entry.
GUIDs are stored big-endian (RFC 4122 byte order); offsets are relative to the table start.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from core.errors import EvidenceError

ENTRY_SIZE = 24
MAX_ENTRIES = 64  # far above the five GUIDs that exist; bounds the work on hostile input

GUID_ARK = uuid.UUID("c0b406a4-a803-4952-9743-3fb6014cd0ae")
GUID_ASK = uuid.UUID("4ab7b379-bbac-4fe4-a02f-05aef327c782")
GUID_VCEK = uuid.UUID("63da758d-e664-4564-adc5-f4b93be8accd")
GUID_VLEK = uuid.UUID("a8074bc2-a25a-483e-aae6-39c045a0b8a1")
GUID_EXTRA_PLATFORM_INFO = uuid.UUID("ecae0c0f-9502-43b1-afa2-0ae2e0d565b6")

GUID_NAMES = {GUID_ARK: "ARK", GUID_ASK: "ASK", GUID_VCEK: "VCEK", GUID_VLEK: "VLEK",
              GUID_EXTRA_PLATFORM_INFO: "extra platform info"}


class CertTableError(EvidenceError):
    code = "snp-cert-table"


@dataclass(frozen=True, slots=True)
class CertTableEntry:
    guid: uuid.UUID
    offset: int
    length: int
    data: bytes

    @property
    def name(self) -> str:
        return GUID_NAMES.get(self.guid, "unknown")


def parse_cert_table(table: bytes) -> tuple[CertTableEntry, ...]:
    """Entries in table order. Raises ``CertTableError`` for anything malformed."""
    table = bytes(table)
    entries: list[CertTableEntry] = []
    seen: set[uuid.UUID] = set()
    for index in range(MAX_ENTRIES + 1):
        start = index * ENTRY_SIZE
        if start + ENTRY_SIZE > len(table):
            raise CertTableError(
                f"the certificate table is truncated: entry {index} needs bytes {start}-{start + 23} "
                f"but the table has {len(table)} bytes, and no all-zero terminator was found")
        raw = table[start:start + ENTRY_SIZE]
        if not any(raw):
            return tuple(entries)
        guid = uuid.UUID(bytes=raw[:16])
        offset, length = struct.unpack_from("<II", raw, 16)
        if guid in seen:
            raise CertTableError(f"the certificate table lists {guid} twice")
        if offset + length > len(table):
            raise CertTableError(
                f"certificate table entry {guid} points at bytes {offset}-{offset + length} outside "
                f"the table ({len(table)} bytes)")
        seen.add(guid)
        entries.append(CertTableEntry(guid, offset, length, table[offset:offset + length]))
    raise CertTableError(f"the certificate table has more than {MAX_ENTRIES} entries")


def build_cert_table(blobs: list[tuple[uuid.UUID, bytes]]) -> bytes:
    """The inverse of ``parse_cert_table`` (used by tests and the sandbox)."""
    header = ENTRY_SIZE * (len(blobs) + 1)
    body = b""
    entries = b""
    for guid, blob in blobs:
        entries += guid.bytes + struct.pack("<II", header + len(body), len(blob))
        body += blob
    return entries + bytes(ENTRY_SIZE) + body
