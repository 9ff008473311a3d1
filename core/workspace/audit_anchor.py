"""The head anchor: a small file next to the store naming the last audit event and its hash.

The chain alone proves that no event in the middle changed; it cannot show that events at
the end were cut off. The anchor can, as long as it is written after each append. It is
written after the database commit, so a crash in between leaves it exactly one event behind,
which readers accept and the next open repairs. It is not a signature: whoever can rewrite
both the store and this file can rewrite history, which only backups guard against.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import StoreCorrupted
from core.fsio import atomic_write_json
from core.workspace.audit_chain import ZERO_HASH

ANCHOR_FORMAT = "prism-audit-head/1"
_MAX_SIZE = 4096
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AnchorUnreadable(StoreCorrupted):
    code = "audit-anchor-unreadable"


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int  # 0 for an empty log
    hash: str


EMPTY_ANCHOR = Anchor(0, ZERO_HASH)


class HeadAnchor:
    """Reads and atomically replaces the anchor file (owner-only, fsynced)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self) -> Anchor | None:
        """The recorded anchor; None if the file does not exist; AnchorUnreadable if damaged."""
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read(_MAX_SIZE + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AnchorUnreadable(f"cannot read the audit head anchor {self.path} ({exc.strerror or exc})") from exc
        return self._parse(raw)

    def _parse(self, raw: bytes) -> Anchor:
        if len(raw) > _MAX_SIZE:
            raise self._damaged("it is larger than any anchor Prism writes")
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise self._damaged("it is not the JSON Prism writes") from None
        if not isinstance(document, dict) or document.get("format") != ANCHOR_FORMAT:
            raise self._damaged(f"it does not say format {ANCHOR_FORMAT!r}")
        seq, digest = document.get("seq"), document.get("hash")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise self._damaged("its event number is not a whole number >= 0")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise self._damaged("its hash is not 64 lowercase hex digits")
        return Anchor(seq, digest)

    def _damaged(self, why: str) -> AnchorUnreadable:
        return AnchorUnreadable(
            f"the audit head anchor {self.path} is damaged ({why}); it was edited outside Prism"
        )

    def write(self, anchor: Anchor) -> None:
        """Replace the anchor atomically (owner-only): a reader sees the old or the new one, never a mix."""
        atomic_write_json(self.path, {"format": ANCHOR_FORMAT, "seq": anchor.seq, "hash": anchor.hash})
