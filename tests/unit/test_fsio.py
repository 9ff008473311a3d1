"""core.fsio: atomic replacement, exact modes from creation, refusal of anything but a regular file."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import fsio
from core.errors import Refused
from core.fsio import AtomicFile, NotARegularFile, atomic_write, atomic_write_json, fsync_directory

posix_only = pytest.mark.skipif(os.name != "posix", reason="modes, FIFOs and directory fsync are POSIX")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def strict_umask():
    old = os.umask(0o077)
    yield
    os.umask(old)


@pytest.fixture
def fsync_spy(monkeypatch):
    """Record every fsync as "file" or "dir" (real fsync still runs)."""
    seen: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        seen.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(fsio.os, "fsync", spy)
    return seen


# --- writing -----------------------------------------------------------------------------------

def test_new_file_gets_the_bytes_owner_only_and_no_temp_is_left(tmp_path):
    target = tmp_path / "secret.bin"
    atomic_write(target, b"\x00key\xff")
    assert target.read_bytes() == b"\x00key\xff"
    assert _mode(target) == 0o600
    assert _leftovers(tmp_path) == []


def test_existing_file_is_replaced_whole(tmp_path):
    target = tmp_path / "index.json"
    target.write_bytes(b"old and much longer content")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"


@posix_only
def test_requested_mode_is_exact_whatever_the_umask(tmp_path, strict_umask):
    public = tmp_path / "cert.pem"
    atomic_write(public, b"cert", mode=0o644)
    assert _mode(public) == 0o644
    private = tmp_path / "key.pem"
    atomic_write(private, b"key")
    assert _mode(private) == 0o600


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o644])
def test_temp_file_has_its_final_mode_before_any_byte_is_written(tmp_path, monkeypatch, mode):
    seen = []
    real = fsio.write_all

    def spy(fd, data):
        seen.append((stat.S_IMODE(os.fstat(fd).st_mode), os.fstat(fd).st_size))
        real(fd, data)

    monkeypatch.setattr(fsio, "write_all", spy)
    atomic_write(tmp_path / "f", b"payload", mode=mode)
    assert seen == [(mode, 0)]


def test_file_and_directory_are_fsynced(tmp_path, fsync_spy):
    atomic_write(tmp_path / "f", b"x")
    assert fsync_spy == (["file", "dir"] if os.name == "posix" else ["file"])


def test_directory_fsync_can_be_skipped(tmp_path, fsync_spy):
    atomic_write(tmp_path / "f", b"x", fsync_dir=False)
    assert fsync_spy == ["file"]


def test_json_is_sorted_utf8_with_a_newline(tmp_path):
    target = tmp_path / "status.json"
    atomic_write_json(target, {"b": 1, "a": "é"}, indent=2)
    raw = target.read_bytes()
    assert raw.endswith(b"}\n")
    assert raw.index(b'"a"') < raw.index(b'"b"')
    assert json.loads(raw) == {"a": "é", "b": 1}
    atomic_write_json(target, {"seq": 1})
    assert target.read_bytes() == b'{"seq": 1}\n'


@settings(max_examples=40)
@given(data=st.binary(max_size=4096))
def test_any_bytes_round_trip(tmp_path_factory, data):
    target = tmp_path_factory.mktemp("rt") / "f"
    atomic_write(target, data)
    assert target.read_bytes() == data


def test_concurrent_writers_leave_one_whole_version(tmp_path):
    target = tmp_path / "shared"
    versions = [bytes([i]) * 50_000 for i in range(8)]
    threads = [threading.Thread(target=atomic_write, args=(target, v)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_bytes() in versions
    assert _leftovers(tmp_path) == []


def test_dangling_symlink_is_replaced_by_a_regular_file(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    atomic_write(link, b"x")
    assert not link.is_symlink() and link.read_bytes() == b"x"
    assert not (tmp_path / "nowhere").exists()


# --- failures lose nothing -----------------------------------------------------------------------

def test_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path, monkeypatch):
    target = tmp_path / "keystore"
    target.write_bytes(b"old")

    def torn(fd, data):
        os.write(fd, bytes(data)[:1])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsio, "write_all", torn)
    with pytest.raises(OSError, match="No space") as info:
        atomic_write(target, b"new content")
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_failed_rename_keeps_the_old_file_and_removes_the_temp(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def refuse(*args):
        raise PermissionError(errno.EACCES, "denied")

    monkeypatch.setattr(fsio.os, "replace", refuse)
    with pytest.raises(PermissionError):
        atomic_write(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_missing_folder_is_an_os_error_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "absent" / "f", b"x")
    assert list(tmp_path.iterdir()) == []


# --- only regular files are replaced -------------------------------------------------------------

def _assert_refused(info: pytest.ExceptionInfo[NotARegularFile], kind: str) -> None:
    assert isinstance(info.value, Refused)
    assert info.value.code == "not-a-regular-file"
    assert f"is {kind}, not a regular file" in str(info.value)


def test_a_folder_is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "inside").write_bytes(b"keep")
    with pytest.raises(NotARegularFile) as info:
        atomic_write(folder, b"x")
    _assert_refused(info, "a folder")
    assert (folder / "inside").read_bytes() == b"keep"
    assert _leftovers(tmp_path) == []


@posix_only
def test_a_named_pipe_is_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile) as info:
        atomic_write(fifo, b"x")
    _assert_refused(info, "a named pipe")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@posix_only
def test_a_link_to_a_device_is_refused(tmp_path):
    # A link in our own folder: even a broken guard would replace only the link, never the device.
    if not stat.S_ISCHR(os.stat("/dev/null").st_mode):
        pytest.skip("/dev/null is not a character device here")
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    with pytest.raises(NotARegularFile) as info:
        atomic_write(link, b"x")
    _assert_refused(info, "a device")
    assert link.is_symlink()
    assert _leftovers(tmp_path) == []


@posix_only
def test_a_target_that_turns_into_a_pipe_before_commit_is_refused(tmp_path):
    target = tmp_path / "f"
    pending = AtomicFile(target)
    pending.write(b"data")
    os.mkfifo(target)
    with pytest.raises(NotARegularFile):
        pending.commit()
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert _leftovers(tmp_path) == []


# --- AtomicFile (data in pieces) -----------------------------------------------------------------

def test_pieces_appear_only_on_commit(tmp_path):
    target = tmp_path / "result.zip"
    pending = AtomicFile(target)
    pending.write(b"part one, ")
    pending.write(b"part two")
    assert not target.exists()
    assert pending.commit() == target
    assert target.read_bytes() == b"part one, part two"
    with pytest.raises(ValueError, match="already committed or discarded"):
        pending.write(b"more")
    pending.discard()  # harmless after a commit: the committed file stays
    assert target.read_bytes() == b"part one, part two"


def test_context_manager_discards_on_an_exception(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="cancelled"):
        with AtomicFile(target) as pending:
            pending.write(b"half")
            raise RuntimeError("cancelled")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_discard_twice_is_harmless(tmp_path):
    pending = AtomicFile(tmp_path / "f")
    pending.discard()
    pending.discard()
    assert list(tmp_path.iterdir()) == []


# --- directory fsync -----------------------------------------------------------------------------

@posix_only
@pytest.mark.parametrize("code", [errno.EINVAL, errno.EOPNOTSUPP])
def test_a_file_system_that_cannot_fsync_a_folder_is_tolerated(tmp_path, monkeypatch, code):
    def refuse(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fsio.os, "fsync", refuse)
    fsync_directory(tmp_path)  # no error: the rename already happened atomically


@posix_only
def test_a_real_io_error_on_the_folder_fsync_is_raised(tmp_path, monkeypatch):
    def broken(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(fsio.os, "fsync", broken)
    with pytest.raises(OSError) as info:
        fsync_directory(tmp_path)
    assert info.value.errno == errno.EIO


# --- the callers keep their modes ----------------------------------------------------------------

@posix_only
def test_callers_keep_their_modes(tmp_path, strict_umask):
    from app.cli.context import write_private_file, write_public_file
    from app.files import write_file
    from core.keys.fileio import atomic_write as keys_write

    (tmp_path / "pub").mkdir()  # the CLI writes into folders that exist; it creates none
    (tmp_path / "priv").mkdir()
    write_public_file(tmp_path / "pub" / "cert.pem", b"c")
    write_private_file(tmp_path / "priv" / "key.pem", b"k")
    write_file(tmp_path / "shared.der", b"d")
    write_file(tmp_path / "secret.pem", b"s", secret=True)
    keys_write(tmp_path / "ks" / "keystore.prks", b"ks")
    assert _mode(tmp_path / "pub" / "cert.pem") == 0o644
    assert _mode(tmp_path / "priv" / "key.pem") == 0o600
    assert _mode(tmp_path / "shared.der") == 0o644
    assert _mode(tmp_path / "secret.pem") == 0o600
    assert _mode(tmp_path / "ks" / "keystore.prks") == 0o600
    assert _mode(tmp_path / "ks") == 0o700


def test_cli_output_to_a_folder_is_refused(tmp_path):
    from app.cli.context import write_public_file

    with pytest.raises(NotARegularFile):
        write_public_file(tmp_path, b"report")


def test_collateral_cache_reports_an_unwritable_target_as_its_own_error(tmp_path):
    from core.attestation.collateral.cache import CollateralCache
    from core.attestation.collateral.errors import CollateralCacheError

    cache = CollateralCache(tmp_path / "collateral")
    cache.index_path.parent.mkdir(parents=True, exist_ok=True)
    cache.index_path.mkdir()
    with pytest.raises(CollateralCacheError) as info:
        cache._save([])
    assert info.value.code == "collateral-cache"
    assert "not a regular file" in str(info.value)
