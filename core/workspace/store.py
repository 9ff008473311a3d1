"""The per-workspace store: one SQLite file in WAL mode, migrated to the newest schema on open."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.errors import StoreCorrupted, WorkspaceError
from core.workspace.migrate import HEAD_REVISION, StoreTooNew, read_revision, upgrade
from core.workspace.sqlite_engine import (
    WRITE_OPTIONS,
    StoreBusy,
    StoreUnavailable,
    make_engine,
    sqlite_error_name,
    translate_storage_error,
)

__all__ = [
    "HEAD_REVISION",
    "Store",
    "StoreBusy",
    "StoreClosed",
    "StoreTooNew",
    "StoreUnavailable",
    "upgrade",
]

log = logging.getLogger(__name__)


class StoreClosed(WorkspaceError):
    code = "store-closed"


class Store:
    """Opens (or creates) the SQLite file at ``path`` and migrates it to the newest schema.

    ``session()`` is the unit of work: it commits when the block ends normally and rolls
    back when it raises. ``session(write=True)`` takes the write lock at BEGIN, for
    read-then-write work such as appending to the audit chain.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._closed = False
        _create_private_file(self._path)
        self._engine = make_engine(self._path)
        self._write_engine = self._engine.execution_options(**WRITE_OPTIONS)
        try:
            upgrade(self._engine)
        except DBAPIError as exc:
            self._engine.dispose()
            raise _open_error(exc, self._path) from exc
        except UnicodeDecodeError as exc:  # SQLite reporting on a damaged file, in mangled text
            self._engine.dispose()
            raise StoreCorrupted(f"the store {self._path} is damaged; restore it from a backup") from exc
        except BaseException:
            self._engine.dispose()
            raise

    @property
    def path(self) -> Path:
        return self._path

    @property
    def engine(self) -> Engine:
        self._check_open()
        return self._engine

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A Session that commits on success and rolls back on error."""
        self._check_open()
        session = Session(bind=self._write_engine if write else self._engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except DBAPIError as exc:
            session.rollback()
            mapped = translate_storage_error(exc, self._path)
            if mapped is None:
                raise
            raise mapped from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def revision(self) -> str | None:
        """The schema revision recorded in the file (None if it was never migrated)."""
        self._check_open()
        try:
            with self._engine.connect() as connection:
                return read_revision(connection)
        except DBAPIError as exc:
            raise _open_error(exc, self._path) from exc

    def close(self) -> None:
        """Release every connection; the Store cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self._path)!r}{', closed' if self._closed else ''})"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"the store {self._path} was closed; open the workspace again")


def _create_private_file(path: Path) -> None:
    """Create the database file owner-only before SQLite does (its -wal/-shm copy the mode)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except IsADirectoryError as exc:
        raise StoreUnavailable(f"{path} is a folder, not a store file; choose a file path") from exc
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot create the store {path} ({exc.strerror or exc}); "
            "check that the folder exists and that you may write to it"
        ) from exc
    os.close(fd)


def _open_error(error: DBAPIError, path: Path) -> WorkspaceError:
    mapped = translate_storage_error(error, path)
    if mapped is not None:
        return mapped
    if sqlite_error_name(error) == "SQLITE_ERROR" or isinstance(error.orig, sqlite3.DatabaseError):
        # e.g. "table audit_events already exists": a SQLite file, but not laid out by us
        return StoreCorrupted(
            f"{path} is a SQLite database but not a Prism store ({error.orig}); "
            "move it aside or restore the workspace from a backup"
        )
    return WorkspaceError(f"cannot open the store {path}: {error.orig}")
