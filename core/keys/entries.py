"""Keystore entries and the plaintext payload (entries JSON) sealed inside keystores and backups."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from core.errors import BadInput
from core.keys.types import PURPOSES, KeyType

_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_LABEL = 200
PAYLOAD_FORMAT = "prism-keystore-entries"
PAYLOAD_VERSION = 1


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """What the keystore shows about a key; never the private part."""

    name: str
    key_type: KeyType
    fingerprint: str  # lowercase hex SHA-256 of public_der
    created_at: datetime  # UTC
    public_der: bytes  # DER SubjectPublicKeyInfo
    label: str = ""
    purpose: str = "participant"  # "participant" | "ca" | "tls"


@dataclass(slots=True, eq=False)
class Record:
    """An entry with its PKCS#8 DER, held in a bytearray so ``wipe`` can overwrite it."""

    entry: KeyEntry
    secret: bytearray = field(repr=False)

    def wipe(self) -> None:
        self.secret[:] = bytes(len(self.secret))


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadInput(f"key name {name!r} is not valid: use 1-64 characters from A-Z, a-z, 0-9, '.', '_', '-'")
    return name


def check_label(label: object) -> str:
    if not isinstance(label, str) or len(label) > MAX_LABEL or any(ord(ch) < 32 for ch in label):
        raise BadInput(f"a key label must be text of at most {MAX_LABEL} characters without control characters")
    return label


def check_purpose(purpose: object) -> str:
    if purpose not in PURPOSES:
        raise BadInput(f"key purpose {purpose!r} is not one of {', '.join(PURPOSES)}")
    return purpose  # type: ignore[return-value]


def encode_payload(records: dict[str, Record]) -> bytes:
    """The entries JSON, private keys included; only ever passed straight to the cipher."""
    items = [_encode_record(records[name]) for name in sorted(records)]
    document = {"format": PAYLOAD_FORMAT, "version": PAYLOAD_VERSION, "entries": items}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


def _encode_record(record: Record) -> dict[str, Any]:
    entry = record.entry
    return {
        "name": entry.name, "key_type": entry.key_type.value, "fingerprint": entry.fingerprint,
        "created_at": entry.created_at.isoformat(), "public_der": base64.b64encode(entry.public_der).decode(),
        "label": entry.label, "purpose": entry.purpose,
        "private_pkcs8": base64.b64encode(record.secret).decode(),
    }


def decode_payload(plaintext: bytes) -> dict[str, Record]:
    """Records from decrypted entries JSON; ``BadInput`` names what is wrong."""
    try:
        document = json.loads(plaintext.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise BadInput("the decrypted key list is not valid JSON") from None
    if not isinstance(document, dict) or document.get("format") != PAYLOAD_FORMAT:
        raise BadInput("the decrypted data is not a Prism key list")
    if document.get("version") != PAYLOAD_VERSION:
        raise BadInput(f"the key list has version {document.get('version')!r}; update Prism to read it")
    items = document.get("entries")
    if not isinstance(items, list):
        raise BadInput("the key list has no entries array")
    records: dict[str, Record] = {}
    for item in items:
        record = _decode_record(item)
        if record.entry.name in records:
            raise BadInput(f"the key list names '{record.entry.name}' twice")
        records[record.entry.name] = record
    return records


def _decode_record(item: object) -> Record:
    if not isinstance(item, dict):
        raise BadInput("a key list entry is not an object")
    try:
        created = datetime.fromisoformat(item["created_at"])
        entry = KeyEntry(
            name=check_name(item["name"]), key_type=KeyType(item["key_type"]),
            fingerprint=_text(item["fingerprint"]), created_at=created.astimezone(timezone.utc),
            public_der=base64.b64decode(item["public_der"], validate=True),
            label=check_label(item["label"]), purpose=check_purpose(item["purpose"]),
        )
        secret = bytearray(base64.b64decode(item["private_pkcs8"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise BadInput(f"a key list entry is malformed ({type(exc).__name__}: {exc})") from None
    return Record(entry, secret)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value
