"""Atomic, owner-only file writes and bounded reads for secret-bearing files."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Callable

from core.errors import NotFound, PrismError, Refused

log = logging.getLogger(__name__)

#: a keystore or backup larger than this is not one of ours; refuse before reading it all
MAX_FILE_BYTES = 64 * 1024 * 1024


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    The temp file is created 0600 before any byte is written (no window where another user
    can open it), fsynced, renamed over the target, and the directory is fsynced so the
    rename itself survives a power cut.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory for fsync; NTFS journals the rename
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_bounded(path: Path, *, what: str, too_big: Callable[[str], PrismError],
                 limit: int | None = None, prefix: int | None = None) -> bytes:
    """The file's bytes (or only its first ``prefix`` bytes); ``NotFound`` when it is missing."""
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        with open(path, "rb") as handle:
            if prefix is not None:
                return handle.read(prefix)
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise NotFound(f"no {what} file at {path}") from None
    except IsADirectoryError:
        raise NotFound(f"{path} is a directory, not a {what} file") from None
    except PermissionError:
        raise Refused(f"no permission to read the {what} file {path}; check its owner and mode") from None
    if len(data) > limit:
        raise too_big(f"{path} is larger than {limit // (1024 * 1024)} MiB, so it is not a Prism {what} file")
    return data
