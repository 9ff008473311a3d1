"""The workspace audit log: an append-only, hash-chained list of who did what, and its check.

Callers must never put secrets into ``details``; the log only refuses what JSON cannot carry.
"""

from __future__ import annotations

import json
import logging
import time as _time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.errors import BadInput, WorkspaceError
from core.workspace.audit_anchor import EMPTY_ANCHOR, Anchor, AnchorUnreadable, HeadAnchor
from core.workspace.audit_chain import (
    ZERO_HASH,
    AuditRecord,
    ChainReport,
    ChainWalker,
    canonical_details,
    chain_hash,
    check_text,
    format_time,
    record_from_row,
)
from core.workspace.schema import AuditEvent
from core.workspace.sqlite_engine import CASEFOLD_FUNCTION, translate_storage_error
from core.workspace.store import Store

__all__ = ["ANCHOR_NAME", "AuditLog", "AuditRecord", "ChainReport"]

log = logging.getLogger(__name__)

ANCHOR_NAME = "audit.head"
_STREAM_BATCH = 1000
#: pauses before concluding that an anchor lagging two or more events is not just
#: other processes between their commit and their anchor write
_SETTLE_DELAYS = (0.05, 0.2)
_COLUMNS = (
    AuditEvent.seq, AuditEvent.time, AuditEvent.actor, AuditEvent.action,
    AuditEvent.subject, AuditEvent.details, AuditEvent.prev_hash, AuditEvent.hash,
)
_SEARCHED = (AuditEvent.actor, AuditEvent.action, AuditEvent.subject, AuditEvent.details)


class AuditLog:
    """Appends to, queries and verifies the audit chain kept in ``store``.

    The head anchor lives at ``head_path`` (default: ``audit.head`` next to the store file).
    """

    def __init__(self, store: Store, actor: str, head_path: Path | None = None) -> None:
        self._store = store
        self._actor = check_text("actor", actor)
        self._anchor = HeadAnchor(head_path if head_path is not None else store.path.with_name(ANCHOR_NAME))
        # a crash between an append's commit and its anchor write leaves the anchor one behind
        try:
            self._sync_anchor(max_lag=1)
        except OSError:
            log.warning("could not repair the audit head anchor %s", self.head_path, exc_info=True)

    @property
    def store(self) -> Store:
        return self._store

    @property
    def actor(self) -> str:
        return self._actor

    @property
    def head_path(self) -> Path:
        return self._anchor.path

    # --- writing ------------------------------------------------------------------------

    def append(
        self, action: str, subject: str, details: Mapping[str, Any] | None = None, *, actor: str | None = None
    ) -> AuditRecord:
        """Add one event atomically and return it as stored."""
        action = check_text("action", action)
        subject = check_text("subject", subject, allow_empty=True)
        actor = self._actor if actor is None else check_text("actor", actor)
        details_json = canonical_details(details)
        # write=True takes the lock at BEGIN, so reading the tail and inserting after it
        # cannot interleave with another writer.
        with self._store.session(write=True) as session:
            tail = _tail(session)
            seq, prev_hash = tail.seq + 1, tail.hash
            moment = format_time(datetime.now(timezone.utc))
            digest = chain_hash(seq, moment, actor, action, subject, details_json, prev_hash)
            session.add(AuditEvent(
                seq=seq, time=moment, actor=actor, action=action, subject=subject,
                details=details_json, prev_hash=prev_hash, hash=digest,
            ))
        try:
            self._sync_anchor(max_lag=None)
        except (OSError, WorkspaceError):
            # the event is committed; a stale anchor shows up in verify_chain()
            log.warning("audit event %d was stored but the head anchor could not be updated", seq, exc_info=True)
        return AuditRecord(
            seq=seq, time=datetime.fromisoformat(moment), actor=actor, action=action, subject=subject,
            details=json.loads(details_json), prev_hash=prev_hash, hash=digest,
        )

    def _sync_anchor(self, *, max_lag: int | None) -> None:
        """Move the anchor to the last event, unless that would hide evidence of tampering."""
        with self._store.session(write=True) as session:  # the lock serialises anchor writers
            tail = _tail(session)
            try:
                stored = self._anchor.read()
            except AnchorUnreadable:
                log.warning("audit head anchor %s is damaged; leaving it for inspection", self.head_path)
                return
            recorded = stored or EMPTY_ANCHOR
            if stored is not None and recorded == tail:
                return
            if recorded.seq > tail.seq or _hash_at(session, recorded.seq) != recorded.hash:
                log.warning("audit head anchor %s disagrees with the log; leaving it for inspection", self.head_path)
                return
            if max_lag is not None and tail.seq - recorded.seq > max_lag:
                return
            self._anchor.write(tail)

    # --- reading ------------------------------------------------------------------------

    def count(self, *, action_prefix: str | None = None, text: str | None = None) -> int:
        statement = select(func.count()).select_from(AuditEvent).where(*_filters(action_prefix, text))
        with self._store.session() as session:
            return int(session.execute(statement).scalar_one())

    def events(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        action_prefix: str | None = None,
        text: str | None = None,
        newest_first: bool = False,
    ) -> list[AuditRecord]:
        """One page of events; ``text`` matches actor, action, subject or details, ignoring case."""
        _check_page(offset, limit)
        order = AuditEvent.seq.desc() if newest_first else AuditEvent.seq.asc()
        statement = select(*_COLUMNS).where(*_filters(action_prefix, text)).order_by(order).offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        with self._store.session() as session:
            return [record_from_row(row) for row in session.execute(statement)]

    # --- verifying ----------------------------------------------------------------------

    def verify_chain(self) -> ChainReport:
        """Walk the whole chain (streamed), then hold its end against the head anchor."""
        walker = ChainWalker(self._seq_of_hash)
        if not self._walk(walker, resume=False):
            return _failure(walker)
        for delay in (0.0, *_SETTLE_DELAYS):
            _time.sleep(delay)
            try:
                recorded = self._anchor.read()
            except AnchorUnreadable as exc:
                return ChainReport(False, walker.checked, None, str(exc))
            anchor = recorded or EMPTY_ANCHOR
            # read after the walk: an anchor ahead of it may be events appended meanwhile
            if anchor.seq > walker.last_seq and not self._walk(walker, resume=True):
                return _failure(walker)
            report, lagging = self._check_tail(walker, anchor, missing=recorded is None)
            if not lagging:
                break
        return report

    def _walk(self, walker: ChainWalker, *, resume: bool) -> bool:
        statement = select(*_COLUMNS).order_by(AuditEvent.seq)
        if resume:
            statement = statement.where(AuditEvent.seq >= walker.expected)
        try:
            with self._store.engine.connect() as connection:
                result = connection.execution_options(yield_per=_STREAM_BATCH).execute(statement)
                return all(walker.feed(row) for row in result)
        except DBAPIError as exc:
            mapped = translate_storage_error(exc, self._store.path)
            if mapped is None:
                raise
            raise mapped from exc

    def _check_tail(self, walker: ChainWalker, anchor: Anchor, *, missing: bool) -> tuple[ChainReport, bool]:
        """The verdict on the log's end, and whether it is only a lag that may yet settle."""
        last, checked, name = walker.last_seq, walker.checked, self.head_path.name
        if anchor.seq > last:
            removed = anchor.seq - last
            text = "the last event was removed" if removed == 1 else f"the last {removed} events were removed"
            return ChainReport(False, checked, last + 1, text), False
        with self._store.session() as session:
            expected_hash = _hash_at(session, anchor.seq)
        if expected_hash != anchor.hash:
            return ChainReport(
                False, checked, anchor.seq or None,
                f"the head anchor {name} does not match event {anchor.seq}: "
                "the anchor file or the end of the log was rewritten",
            ), False
        if last - anchor.seq < 2:
            return ChainReport(True, checked, None, ""), False
        if missing:
            text = f"the head anchor file {name} is missing, so the end of the log cannot be vouched for"
        else:
            text = (f"events {anchor.seq + 1} to {last} were added without updating the head anchor "
                    f"{name}, so they cannot be vouched for")
        return ChainReport(False, checked, anchor.seq + 1, text), True

    def _seq_of_hash(self, digest: str) -> int | None:
        with self._store.session() as session:
            return session.execute(
                select(AuditEvent.seq).where(AuditEvent.hash == digest).order_by(AuditEvent.seq).limit(1)
            ).scalar()


def _tail(session: Session) -> Anchor:
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return EMPTY_ANCHOR if row is None else Anchor(row.seq, row.hash)


def _hash_at(session: Session, seq: int) -> str | None:
    if seq == 0:
        return ZERO_HASH
    return session.execute(select(AuditEvent.hash).where(AuditEvent.seq == seq)).scalar()


def _failure(walker: ChainWalker) -> ChainReport:
    assert walker.failure is not None
    return walker.failure


def _filters(action_prefix: str | None, text: str | None) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if action_prefix is not None:
        if not isinstance(action_prefix, str):
            raise BadInput(f"the action prefix must be text, not {type(action_prefix).__name__}")
        if action_prefix:
            # substr() rather than LIKE: LIKE would ignore case and treat % and _ as wildcards
            clauses.append(func.substr(AuditEvent.action, 1, len(action_prefix)) == action_prefix)
    if text is not None:
        if not isinstance(text, str):
            raise BadInput(f"the search text must be text, not {type(text).__name__}")
        if text:
            needle = text.casefold()
            fold = getattr(func, CASEFOLD_FUNCTION)
            clauses.append(or_(*(fold(column).contains(needle, autoescape=True) for column in _SEARCHED)))
    return clauses


def _check_page(offset: int, limit: int | None) -> None:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise BadInput(f"the offset must be a whole number >= 0, not {offset!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise BadInput(f"the limit must be a whole number >= 0 or None, not {limit!r}")
