"""The audit chain's records, their canonical encoding and hash, and the rules of a sound chain.

Each event commits to its predecessor: ``hash = SHA-256(canonical(seq, time, actor, action,
subject, details, prev_hash))`` with ``prev_hash`` of event 1 being 64 zeros. The canonical
encoding is the compact UTF-8 JSON array ``["prism-audit/1", seq, time, actor, action,
subject, details_json, prev_hash]`` where ``details_json`` is the stored canonical JSON text
(sorted keys, no spaces). A JSON array keeps field boundaries unambiguous.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from core.errors import BadInput, StoreCorrupted

ZERO_HASH = "0" * 64
ENCODING_TAG = "prism-audit/1"
MAX_LENGTHS = {"actor": 200, "action": 100, "subject": 500}  # the column sizes in schema.py
_MAX_DEPTH = 32
#: how far from its place a moved event is searched for, to tell "reordered" from "edited"
_REORDER_WINDOW = 64


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    time: datetime  # UTC
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str  # plain language; "" when ok


def format_time(moment: datetime) -> str:
    """ISO 8601 UTC with microseconds: the exact text that is stored and hashed."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def check_text(field: str, value: object, *, allow_empty: bool = False) -> str:
    """A text field of an event, refused if it is not storable as-is."""
    if not isinstance(value, str):
        raise BadInput(f"the audit {field} must be text, not {type(value).__name__}")
    if not value and not allow_empty:
        raise BadInput(f"the audit {field} must not be empty")
    limit = MAX_LENGTHS[field]
    if len(value) > limit:
        raise BadInput(f"the audit {field} is {len(value)} characters long; the limit is {limit}")
    _check_encodable(value, field)
    return value


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """The canonical JSON text of ``details``; BadInput for anything JSON cannot carry exactly."""
    if details is None:
        return "{}"
    if not isinstance(details, Mapping):
        raise BadInput(f"audit details must be a mapping, not {type(details).__name__}")
    _check_json(details, "details", 0)
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _check_json(value: object, where: str, depth: int) -> None:
    # Checked up front instead of trusting json.dumps: it would silently turn int keys into
    # strings and tuples into lists, so what is read back would differ from what was logged.
    if depth > _MAX_DEPTH:
        raise BadInput(f"audit {where} is nested more than {_MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadInput(f"audit {where} holds {value}, which JSON cannot represent")
        return
    if isinstance(value, str):
        _check_encodable(value, where)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise BadInput(f"audit {where} has a key {key!r} that is not text")
            _check_encodable(key, where)
            _check_json(item, f"{where}.{key}", depth + 1)
        return
    raise BadInput(
        f"audit {where} holds a {type(value).__name__}, which is not JSON; "
        "pass text, numbers, booleans, None, lists or dicts"
    )


def _check_encodable(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadInput(f"audit {where} holds text that is not valid Unicode ({exc.reason})") from exc


def chain_hash(seq: int, time: str, actor: str, action: str, subject: str, details: str, prev_hash: str) -> str:
    payload = [ENCODING_TAG, seq, time, actor, action, subject, details, prev_hash]
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return hashlib.sha256(encoded).hexdigest()


def row_hash(row: Any, seq: int | None = None) -> str:
    """The hash a stored row should carry, as if it were event ``seq`` (default: its own seq).

    SQLite lets an outside edit store a number or a blob in a text column; such a row
    gets "" so that it reads as edited instead of crashing the check.
    """
    try:
        return chain_hash(
            row.seq if seq is None else seq, row.time, row.actor, row.action, row.subject, row.details, row.prev_hash
        )
    except (TypeError, ValueError):
        return ""


def record_from_row(row: Any) -> AuditRecord:
    """Turn a stored row into a record; StoreCorrupted if its fields were mangled."""
    try:
        moment = datetime.fromisoformat(row.time)
        details = json.loads(row.details)
    except (TypeError, ValueError) as exc:
        raise StoreCorrupted(
            f"audit event {row.seq} cannot be read ({exc}); the log was edited outside Prism — "
            "run the audit chain check to see where"
        ) from exc
    if moment.tzinfo is None or not isinstance(details, dict):
        raise StoreCorrupted(
            f"audit event {row.seq} has a malformed time or details; the log was edited outside Prism"
        )
    return AuditRecord(
        seq=row.seq,
        time=moment.astimezone(timezone.utc),
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        details=details,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def plural_events(first: int, last: int) -> str:
    return f"event {first}" if first == last else f"events {first} to {last}"


class ChainWalker:
    """Checks rows fed in ascending seq order; stops at the first problem.

    ``find_seq_of_hash`` looks up which stored event carries a given hash; it is only
    used on the failure path, to tell a moved event from an edited one.
    """

    def __init__(self, find_seq_of_hash: Any) -> None:
        self._find = find_seq_of_hash
        self.expected = 1
        self.prev_hash = ZERO_HASH
        self.checked = 0
        self.failure: ChainReport | None = None

    @property
    def last_seq(self) -> int:
        return self.expected - 1

    def feed(self, row: Any) -> bool:
        """Check one row; False (and ``failure`` set) once the chain is broken."""
        problem = self._problem(row)
        if problem is not None:
            first_bad, text = problem
            self.failure = ChainReport(False, self.checked, first_bad, text)
            return False
        self.prev_hash = row.hash
        self.expected += 1
        self.checked += 1
        return True

    def _problem(self, row: Any) -> tuple[int, str] | None:
        seq = self.expected
        if row.seq < seq:
            return seq, f"an event numbered {row.seq} was inserted; numbers start at 1"
        if row.seq > seq:
            return seq, f"{plural_events(seq, row.seq - 1)} {'is' if row.seq - 1 == seq else 'are'} missing"
        if row_hash(row) != row.hash:
            moved_from = self._original_seq(row)
            if moved_from is not None and moved_from != seq:
                low, high = sorted((seq, moved_from))
                return seq, f"events {low} and {high} are out of order"
            return seq, f"event {seq} was edited"
        if row.prev_hash != self.prev_hash:
            if seq == 1:
                return 1, "event 1 was edited"
            # the row is self-consistent, so its predecessor is the one that changed
            return seq - 1, f"event {seq - 1} was edited"
        return None

    def _original_seq(self, row: Any) -> int | None:
        candidates = list(range(max(1, row.seq - _REORDER_WINDOW), row.seq + _REORDER_WINDOW + 1))
        predecessor = 0 if row.prev_hash == ZERO_HASH else self._find(row.prev_hash)
        if predecessor is not None:
            candidates.insert(0, predecessor + 1)
        for candidate in candidates:
            if candidate != row.seq and row_hash(row, candidate) == row.hash:
                return candidate
        return None
