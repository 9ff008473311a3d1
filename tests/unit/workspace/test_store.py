"""The SQLite store: pragmas, transactions, and what happens with files that are not ours."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text

from core.errors import StoreCorrupted, WorkspaceError
from core.workspace.migrate import HEAD_REVISION, StoreTooNew, known_revisions
from core.workspace.sqlite_engine import StoreUnavailable
from core.workspace.store import Store, StoreClosed

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "store.sqlite") as opened:
        yield opened


def test_new_store_is_at_head_with_durable_pragmas(store: Store) -> None:
    assert store.revision() == HEAD_REVISION
    with store.session() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def test_wal_mode_is_recorded_in_the_file(store: Store) -> None:
    # a plain sqlite3 connection, with none of our pragmas, still sees WAL: it is persistent
    raw = sqlite3.connect(store.path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def test_store_file_is_owner_only(store: Store) -> None:
    if os.name != "posix":
        pytest.skip("file modes are POSIX only")
    assert store.path.stat().st_mode & 0o777 == 0o600


def test_head_revision_constant_matches_the_migration_scripts() -> None:
    assert known_revisions() == ["0001", "0002"]
    assert known_revisions()[-1] == HEAD_REVISION


def test_write_sessions_take_the_lock_at_begin(store: Store) -> None:
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda c, cur, stmt, *a: statements.append(stmt))
    with store.session(write=True) as session:
        session.execute(text("SELECT 1"))
    with store.session() as session:
        session.execute(text("SELECT 1"))
    assert statements == ["BEGIN IMMEDIATE", "SELECT 1", "BEGIN DEFERRED", "SELECT 1"]


def test_session_commits_on_success_and_rolls_back_on_error(store: Store) -> None:
    with store.session() as session:
        session.execute(text("CREATE TABLE scratch (v INTEGER)"))
        session.execute(text("INSERT INTO scratch VALUES (1)"))
    with pytest.raises(RuntimeError, match="boom"):
        with store.session() as session:
            session.execute(text("INSERT INTO scratch VALUES (2)"))
            raise RuntimeError("boom")
    with store.session() as session:
        assert session.execute(text("SELECT v FROM scratch")).scalars().all() == [1]


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreClosed) as caught:
        with store.session():
            pass
    assert caught.value.code == "store-closed"
    assert "open the workspace again" in str(caught.value)


def test_reopening_a_current_store_does_not_import_alembic(tmp_path: Path) -> None:
    Store(tmp_path / "s.sqlite").close()
    code = (
        "import sys; from pathlib import Path; from core.workspace.store import Store;"
        f"s = Store(Path({str(tmp_path / 's.sqlite')!r})); print(s.revision(), 'alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [HEAD_REVISION, "False"]


@pytest.mark.parametrize(
    "content",
    [b"hello, this is a text file, not a database\n" * 40, os.urandom(8192), b"SQLite format 3\x00" + b"\xff" * 200],
    ids=["text", "random", "bad-header"],
)
def test_not_a_database_is_store_corrupted(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "store.sqlite"
    path.write_bytes(content)
    with pytest.raises(StoreCorrupted) as caught:
        Store(path)
    assert caught.value.code == "store-corrupted"
    assert str(path) in str(caught.value) and "backup" in str(caught.value)
    assert path.read_bytes() == content  # nothing was lost or rewritten


def test_truncated_database_is_store_corrupted(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE filler (v TEXT)")
    raw.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 200)
    raw.commit()
    raw.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(StoreCorrupted) as caught:
        Store(path)
    assert caught.value.code == "store-corrupted"


def test_foreign_sqlite_database_is_store_corrupted(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE audit_events (something_else TEXT)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreCorrupted, match="not a Prism store"):
        Store(path)


def test_newer_schema_than_known_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    Store(path).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE alembic_version SET version_num = '0099'")
    raw.commit()
    raw.close()
    with pytest.raises(StoreTooNew) as caught:
        Store(path)
    assert caught.value.code == "store-too-new"
    assert "0099" in str(caught.value) and "update Prism Desktop" in str(caught.value)


def test_directory_in_place_of_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "store.sqlite").mkdir()
    with pytest.raises(StoreUnavailable, match="is a folder"):
        Store(tmp_path / "store.sqlite")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096))
def test_fuzz_arbitrary_file_content_only_raises_workspace_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.sqlite"
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    path.write_bytes(data)
    try:
        store = Store(path)
    except WorkspaceError:
        return
    # only an empty file is a valid (new) SQLite database among short random inputs
    assert store.revision() == HEAD_REVISION
    store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(min_value=0, max_value=16383), junk=st.binary(min_size=1, max_size=64))
def test_fuzz_damaged_store_only_raises_workspace_errors(tmp_path: Path, offset: int, junk: bytes) -> None:
    path = tmp_path / "damaged.sqlite"
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    Store(path).close()
    data = bytearray(path.read_bytes())
    offset %= len(data)
    data[offset : offset + len(junk)] = junk
    path.write_bytes(bytes(data))
    try:
        store = Store(path)
        store.revision()
        store.close()
    except WorkspaceError:
        pass
