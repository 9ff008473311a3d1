"""Migrations: a store written at revision 0001 opens at head with its audit history intact."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from core.workspace.audit import AuditLog
from core.workspace.audit_anchor import Anchor, HeadAnchor
from core.workspace.audit_chain import ZERO_HASH, chain_hash
from core.workspace.migrate import HEAD_REVISION, read_revision, upgrade
from core.workspace.schema import Base, CACertificate
from core.workspace.sqlite_engine import make_engine
from core.workspace.store import Store


def _write_events_like_an_old_release(path: Path, count: int) -> list[str]:
    """Build a 0001-only store and append a chain with plain SQL, as a 0001-era app would."""
    engine = make_engine(path)
    upgrade(engine, "0001")
    hashes, prev = [], ZERO_HASH
    with engine.begin() as connection:
        assert read_revision(connection) == "0001"
        assert "ca_certificates" not in inspect(connection).get_table_names()
        for seq in range(1, count + 1):
            moment = datetime(2024, 5, 1, 12, tzinfo=timezone.utc) + timedelta(seconds=seq)
            time = moment.isoformat(timespec="microseconds")
            details = json.dumps({"n": seq}, separators=(",", ":"))
            digest = chain_hash(seq, time, "old-app", "test.event", f"s{seq}", details, prev)
            connection.execute(
                text("INSERT INTO audit_events VALUES (:seq, :time, 'old-app', 'test.event', :subject, "
                     ":details, :prev, :hash)"),
                {"seq": seq, "time": time, "subject": f"s{seq}", "details": details, "prev": prev, "hash": digest},
            )
            hashes.append(digest)
            prev = digest
    engine.dispose()
    HeadAnchor(path.with_name("audit.head")).write(Anchor(count, prev))
    return hashes


def test_store_at_0001_upgrades_to_head_keeping_its_chain(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    hashes = _write_events_like_an_old_release(path, 12)

    with Store(path) as store:
        assert store.revision() == HEAD_REVISION
        tables = set(inspect(store.engine).get_table_names())
        assert {"audit_events", "ca_certificates", "ca_crls", "alembic_version"} <= tables
        log = AuditLog(store, "new-app")
        assert [r.hash for r in log.events()] == hashes
        assert [r.details for r in log.events(limit=2)] == [{"n": 1}, {"n": 2}]
        report = log.verify_chain()
        assert (report.ok, report.checked, report.problem) == (True, 12, "")
        appended = log.append("test.after-upgrade", "s13")
        assert (appended.seq, appended.prev_hash) == (13, hashes[-1])
        assert log.verify_chain().checked == 13

        now = datetime.now(timezone.utc)
        with store.session() as session:  # the 0002 tables are usable through the ORM
            session.add(CACertificate(serial="0a", common_name="ca", sans="[]", usage="ca",
                                      not_before=now, not_after=now, pem="-----"))
        with store.session() as session:
            assert session.get(CACertificate, "0a").common_name == "ca"


def test_migrated_schema_matches_the_orm_models(tmp_path: Path) -> None:
    with Store(tmp_path / "store.sqlite") as store, store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrade_is_idempotent_and_stepwise(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "store.sqlite")
    try:
        upgrade(engine, "0001")
        upgrade(engine, "0001")
        upgrade(engine)
        upgrade(engine)
        with engine.connect() as connection:
            assert read_revision(connection) == HEAD_REVISION
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()
