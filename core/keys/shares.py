"""Printable backup shares: each names its backup, k, n and index, and carries a checksum.

Form: ``PRISM-SHARE1-<backup id, 16 hex>-<k>OF<n>-<index>-<value, base32>-<check, 8 hex>``.
The check is the first 4 bytes of SHA-256 over the rest, so a mistyped share is caught
(all but 1 in 4 billion typos) before any decryption is tried. Case and whitespace are ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from core.errors import BackupError

PREFIX = "PRISM-SHARE1"
_FORM = re.compile(r"PRISM-SHARE1-([0-9A-F]{16})-(\d{1,3})OF(\d{1,3})-(\d{1,3})-([A-Z2-7]+)-([0-9A-F]{8})")


@dataclass(frozen=True, slots=True)
class Share:
    backup_id: str  # 16 lowercase hex characters
    threshold: int
    total: int
    index: int
    value: bytes = b""

    def __repr__(self) -> str:  # the value is secret material
        return f"Share(backup {self.backup_id}, {self.index} of {self.total}, needs {self.threshold})"


def _checksum(body: str) -> str:
    return hashlib.sha256(b"prism-share\x00" + body.encode("ascii")).digest()[:4].hex().upper()


def encode(share: Share) -> str:
    value = base64.b32encode(share.value).decode("ascii").rstrip("=")
    body = f"{PREFIX}-{share.backup_id.upper()}-{share.threshold}OF{share.total}-{share.index}-{value}"
    return f"{body}-{_checksum(body)}"


def parse(text: str, position: int = 1) -> Share:
    """One share from the printed form; ``BackupError`` says which share is wrong and how."""
    if not isinstance(text, str):
        raise BackupError(f"share #{position} must be text")
    compact = "".join(text.split()).upper()
    match = _FORM.fullmatch(compact)
    if match is None:
        raise BackupError(
            f"share #{position} is not a Prism backup share (expected '{PREFIX}-<id>-<k>OF<n>-<i>-<value>-<check>'); "
            "check that it was copied completely"
        )
    backup_id, k, n, index, value, check = match.groups()
    if _checksum(compact[:-9]) != check:
        raise BackupError(f"share #{position} has a typo (its checksum does not match); compare it with the original")
    threshold, total, x = int(k), int(n), int(index)
    if not (2 <= threshold <= total <= 255 and 1 <= x <= total):
        raise BackupError(f"share #{position} claims impossible numbers ({x} of {total}, threshold {threshold})")
    try:
        raw = base64.b32decode(value + "=" * (-len(value) % 8))
    except (binascii.Error, ValueError):
        raise BackupError(f"share #{position} has a damaged value; compare it with the original") from None
    return Share(backup_id.lower(), threshold, total, x, raw)
