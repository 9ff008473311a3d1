"""Schema migrations of the store, run by alembic from code (no alembic.ini at runtime).

The revision scripts live as files in ``migrations/`` next to this module; the directory is
found from ``__file__`` so it works from a source tree, a wheel and a PyInstaller bundle
alike (the bundle must carry ``core/workspace/migrations`` as data files).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection, Engine

from core.errors import StoreCorrupted, WorkspaceError
from core.workspace.sqlite_engine import WRITE_OPTIONS

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: the newest revision this version of the app knows; a test keeps it equal to alembic's
#: head. It lets a store that is already current open without importing alembic at all.
HEAD_REVISION = "0002"
VERSION_TABLE = "alembic_version"


class StoreTooNew(WorkspaceError):
    code = "store-too-new"


def alembic_config() -> Config:
    """An alembic Config built in code, pointing at the packaged revision scripts."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if getattr(sys, "frozen", False):
        # a frozen bundle may carry only compiled revision scripts
        config.set_main_option("sourceless", "true")
    return config


def known_revisions() -> list[str]:
    """Every revision id the packaged scripts define, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def read_revision(connection: Connection) -> str | None:
    """The revision recorded in the store, or None for a store never migrated."""
    has_table = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (VERSION_TABLE,)
    ).first()
    if has_table is None:
        return None
    rows = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").all()
    if len(rows) > 1:
        raise StoreCorrupted(
            f"the store records {len(rows)} schema revisions at once, which Prism never writes; "
            "restore it from a backup"
        )
    return str(rows[0][0]) if rows else None


def upgrade(engine: Engine, target: str = "head") -> None:
    """Migrate the store behind ``engine`` to ``target`` in one transaction.

    The transaction takes the write lock first, so two processes opening the same new store
    run the migration once: the second waits, then finds the schema current.
    """
    with engine.connect() as connection:
        connection.execution_options(**WRITE_OPTIONS)
        with connection.begin():
            current = read_revision(connection)
            if target in ("head", HEAD_REVISION) and current == HEAD_REVISION:
                return
            _run_alembic(connection, current, target)


def _run_alembic(connection: Connection, current: str | None, target: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    known = known_revisions()
    if current is not None and current not in known:
        raise StoreTooNew(
            f"the store has schema revision {current}, which this version of Prism Desktop does "
            f"not know (it knows up to {known[-1]}); update Prism Desktop to open this workspace"
        )
    config = alembic_config()
    config.attributes["connection"] = connection
    log.info("migrating store from revision %s to %s", current or "(empty)", target)
    try:
        command.upgrade(config, target)
    except CommandError as exc:
        raise WorkspaceError(f"cannot migrate the store to revision {target!r}: {exc}") from exc
