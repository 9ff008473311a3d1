"""The SQLite engine under every store: durable pragmas, real transactions, storage errors.

pysqlite's legacy transaction handling never emits BEGIN before DDL or SELECT, which would
make migrations non-atomic and reads unisolated. We switch it off and emit BEGIN ourselves,
as the SQLAlchemy documentation recommends for Python versions without ``autocommit=False``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import URL, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from core.errors import StoreCorrupted, WorkspaceError

#: execution option naming the BEGIN flavour of a connection's transactions
BEGIN_OPTION = "prism_sqlite_begin"
#: options for read-modify-write work: take the write lock up front, so two writers queue
#: on busy_timeout instead of failing with SQLITE_BUSY when upgrading a read transaction
WRITE_OPTIONS: dict[str, Any] = {BEGIN_OPTION: "IMMEDIATE"}
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})

BUSY_TIMEOUT_MS = 10_000
#: SQL function for case-insensitive search that also folds non-ASCII letters
CASEFOLD_FUNCTION = "prism_casefold"


class StoreBusy(WorkspaceError):
    code = "store-busy"


class StoreUnavailable(WorkspaceError):
    code = "store-unavailable"


def make_engine(path: Path) -> Engine:
    """An engine for the SQLite file at ``path`` (created by SQLite if absent)."""
    url = URL.create("sqlite", database=str(path))
    # The pool hands a connection to one thread at a time, so pysqlite's thread check
    # only gets in the way of asyncio.to_thread work.
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN in _on_begin
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL needs a lock another process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()
    dbapi_connection.create_function(CASEFOLD_FUNCTION, 1, _casefold, deterministic=True)


def _on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
    if mode not in _BEGIN_MODES:
        raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _casefold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def sqlite_error_name(error: BaseException) -> str:
    """The SQLite result code name (e.g. ``SQLITE_NOTADB``) behind a driver error, or ""."""
    original = getattr(error, "orig", error)
    return str(getattr(original, "sqlite_errorname", "") or "")


def translate_storage_error(error: DBAPIError | sqlite3.Error, path: Path) -> WorkspaceError | None:
    """A typed error for conditions of the file itself; None for anything else (e.g. bad SQL)."""
    name = sqlite_error_name(error)
    if name == "SQLITE_NOTADB":
        return StoreCorrupted(
            f"{path} is not a SQLite database, so it cannot be a Prism store; "
            "move it aside or restore the workspace from a backup"
        )
    if name.startswith("SQLITE_CORRUPT"):
        return StoreCorrupted(
            f"the store {path} is damaged ({_reason(error)}); restore it from a backup"
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreBusy(
            f"the store {path} stayed locked by another program for {BUSY_TIMEOUT_MS // 1000} s; "
            "close other Prism windows or commands using this workspace and try again"
        )
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_READONLY", "SQLITE_AUTH")):
        return StoreUnavailable(
            f"cannot open the store {path} for writing ({_reason(error)}); "
            "check that the folder exists and that you may write to it"
        )
    if name.startswith(("SQLITE_IOERR", "SQLITE_FULL")):
        return StoreUnavailable(
            f"reading or writing the store {path} failed ({_reason(error)}); "
            "check free disk space and the health of the drive"
        )
    return None


def _reason(error: BaseException) -> str:
    original = getattr(error, "orig", error)
    return str(original) or type(original).__name__
