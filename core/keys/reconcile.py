"""Which keystore entries the audit log does not know about.

The keystore file and the audit log cannot commit together: a key is written first and its
event second, so a crash in between leaves a key without an event. Whoever holds both (the
workspace) compares them on open and records the gap, so the log never silently misses a key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.keys.entries import KeyEntry

#: events after which a key is in the keystore
ADDED = frozenset({"key.generate", "key.import", "key.restore", "key.recovered"})
#: events after which it is not
REMOVED = frozenset({"key.delete"})
RECOVERED = "key.recovered"

KeyEvent = tuple[str, str, Mapping[str, Any]]  # (action, subject = key name, details)


def unrecorded(entries: Iterable[KeyEntry], events: Iterable[KeyEvent]) -> list[KeyEntry]:
    """The entries whose latest add/delete event (same name and fingerprint) is not an addition.

    ``events`` must be in log order; a key deleted and later re-imported counts from its last event.
    """
    present: dict[tuple[str, str], bool] = {}
    for action, subject, details in events:
        if action in ADDED or action in REMOVED:
            fingerprint = details.get("fingerprint") if isinstance(details, Mapping) else None
            if isinstance(fingerprint, str):
                present[(subject, fingerprint)] = action in ADDED
    return [entry for entry in entries if not present.get((entry.name, entry.fingerprint), False)]


def recovered_details(entry: KeyEntry) -> dict[str, Any]:
    """What a ``key.recovered`` event says: enough to tie it to the key, nothing secret."""
    return {
        "fingerprint": entry.fingerprint, "name": entry.name, "key_type": entry.key_type.value,
        "purpose": entry.purpose,
        "reason": "the keystore held this key without an audit event (interrupted between the two writes)",
    }
