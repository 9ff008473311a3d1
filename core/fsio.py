"""Atomic file replacement: the one way Prism writes a file a crash must not tear.

A reader (or the next start after a power cut) sees either the old file or the new one, never a
mix. The temp file is created beside the target with its final mode *before* any byte lands in it,
so a secret is never readable by another user, not even for a moment. Only regular files are ever
replaced: renaming over ``/dev/null`` or a folder someone picked by mistake would break the machine
or lose data, so such a target is refused with a typed error.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import stat
from pathlib import Path
from types import TracebackType
from typing import Any

from core.errors import Refused

log = logging.getLogger(__name__)

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)

#: errors that mean "this filesystem cannot fsync a directory", not "the data is at risk"
_UNSYNCABLE_DIR = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES, errno.EPERM})


class NotARegularFile(Refused):
    """The target of a write exists and is not a regular file (a device, a folder, a pipe ...)."""

    code = "not-a-regular-file"


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600,
                 fsync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically; the new file has exactly ``mode``.

    Raises ``NotARegularFile`` when ``path`` exists and is not a regular file, and the
    ``OSError`` of a failed write (after removing the temp file) otherwise.
    """
    with AtomicFile(path, mode=mode, fsync_dir=fsync_dir) as target:
        target.write(data)


def atomic_write_json(path: str | os.PathLike[str], value: Any, *, mode: int = 0o600,
                      fsync_dir: bool = True, indent: int | None = None) -> None:
    """Replace ``path`` with ``value`` as key-sorted UTF-8 JSON ending in a newline."""
    text = json.dumps(value, indent=indent, sort_keys=True) + "\n"
    atomic_write(path, text.encode("utf-8"), mode=mode, fsync_dir=fsync_dir)


class AtomicFile:
    """A temp file beside ``path`` that becomes ``path`` only on ``commit()``.

    For data that arrives in pieces (a download); ``atomic_write`` covers bytes already in
    memory. As a context manager it commits on a clean exit and discards on an exception.
    """

    __slots__ = ("path", "temp", "_fd", "_fsync_dir", "_finished")

    def __init__(self, path: str | os.PathLike[str], *, mode: int = 0o600, fsync_dir: bool = True) -> None:
        self.path = Path(path)
        refuse_non_regular(self.path)  # before any work: the caller learns at once
        self.temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        self._fsync_dir = fsync_dir
        self._finished = False
        self._fd: int | None = os.open(self.temp, _CREATE_FLAGS, mode)
        try:
            _set_exact_mode(self._fd, mode)
        except BaseException:
            self.discard()
            raise

    def write(self, data: bytes) -> None:
        """Append ``data`` to the temp file; the target is untouched until ``commit()``."""
        write_all(self.fileno(), data)

    def commit(self) -> Path:
        """Make the written bytes durable and put them in place of ``path``; return ``path``."""
        fd = self.fileno()
        try:
            os.fsync(fd)
            self._close()
            refuse_non_regular(self.path)  # again: the target may have changed while we wrote
            os.replace(self.temp, self.path)
        except BaseException:
            self.discard()
            raise
        self._finished = True
        if self._fsync_dir:
            fsync_directory(self.path.parent)  # makes the rename itself survive a power cut
        return self.path

    def discard(self) -> None:
        """Drop the temp file and leave ``path`` as it was; safe to call more than once."""
        self._close()
        if self._finished:
            return
        self._finished = True
        try:
            self.temp.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove the temp file %s (%s)", self.temp, exc.strerror or exc)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def fileno(self) -> int:
        """The temp file's descriptor, for callers that write through their own helper."""
        if self._fd is None:
            raise ValueError(f"the temp file for {self.path} is already committed or discarded")
        return self._fd

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def refuse_non_regular(path: Path) -> None:
    """Raise ``NotARegularFile`` unless ``path`` is missing or (after symlinks) a regular file."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing there yet (a dangling link is replaced by the new file, as rename does)
    if not stat.S_ISREG(info.st_mode):
        raise NotARegularFile(
            f"{path} is {_kind(info.st_mode)}, not a regular file, so Prism will not replace it; "
            "choose a file name (inside that folder if it is one)")


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "the file system accepted no bytes")
        view = view[written:]


def fsync_directory(directory: Path) -> None:
    """Flush a directory entry change (a rename) to disk where the platform allows it."""
    if os.name != "posix":
        return  # Windows cannot open a directory for fsync; NTFS journals the rename
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        if exc.errno not in _UNSYNCABLE_DIR:
            raise
        log.debug("cannot open %s to fsync it (%s); the rename is atomic but may not be durable", directory, exc)
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _UNSYNCABLE_DIR:
            raise
        log.debug("the file system of %s cannot fsync a directory (%s)", directory, exc)
    finally:
        os.close(fd)


def _set_exact_mode(fd: int, mode: int) -> None:
    # os.open applies the umask; callers ask for a mode (0644 for a public certificate) and get it.
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)


def _kind(st_mode: int) -> str:
    if stat.S_ISDIR(st_mode):
        return "a folder"
    if stat.S_ISCHR(st_mode) or stat.S_ISBLK(st_mode):
        return "a device"
    if stat.S_ISFIFO(st_mode):
        return "a named pipe"
    if stat.S_ISSOCK(st_mode):
        return "a socket"
    return "a special file"
