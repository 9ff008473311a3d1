"""Streaming files to and from an agent in 1 MiB pieces with progress (COCOS-PROTOCOL.md §3.5).

Reads and writes run in a worker thread so a large file never stalls the event loop, and only
one chunk is in memory at a time.
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path, PurePosixPath

from core.errors import BadInput
from core.fsio import AtomicFile

__all__ = ["CHUNK_SIZE", "Progress", "ProgressTracker", "PartialFile", "check_upload_file", "check_zip",
           "read_chunks"]

CHUNK_SIZE = 1024 * 1024

#: called with (bytes done, bytes total); total is 0 when the peer did not say
Progress = Callable[[int, int], None]


class ProgressTracker:
    """Adds up bytes and reports (done, total), never going backwards."""

    def __init__(self, total: int, callback: Progress | None) -> None:
        self.total = total
        self.done = 0
        self._callback = callback

    def start(self) -> None:
        if self._callback is not None:
            self._callback(0, self.total)

    def add(self, count: int) -> None:
        self.done += count
        if self._callback is not None:
            self._callback(self.done, self.total)


def check_upload_file(path: Path, what: str) -> int:
    """The size of a regular, non-empty file, or BadInput saying what is wrong with it."""
    try:
        if not path.is_file():
            raise BadInput(f"the {what} {path} does not exist or is not a regular file")
        size = path.stat().st_size
    except OSError as error:
        raise BadInput(f"cannot read the {what} {path}: {error.strerror}") from None
    if size == 0:
        raise BadInput(f"the {what} {path} is empty; the agent refuses an empty upload")
    return size


def check_zip(path: Path) -> None:
    """Refuse what the agent would unpack badly: not a zip, or names escaping its folder (§14 #7, #8)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise BadInput(f"{path} is not a readable zip ({error}); the agent can only unpack a zip, so "
                       "upload it without decompression or rebuild the archive") from None
    for name in names:
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise BadInput(f"{path} holds the entry {name!r}, which would be written outside the dataset "
                           "folder (the agent does not guard against this); rebuild the zip without it")


async def read_chunks(path: Path, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """The file's bytes in ``chunk_size`` pieces (the last one shorter), read off the loop."""
    handle = await asyncio.to_thread(open, path, "rb")
    try:
        while True:
            chunk = await asyncio.to_thread(handle.read, chunk_size)
            if not chunk:
                return
            yield chunk
    finally:
        handle.close()


class PartialFile:
    """A temporary file beside ``dest`` (0600) that becomes ``dest`` only once complete."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self._file: AtomicFile | None = None

    async def open(self) -> None:
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            self._file = await asyncio.to_thread(AtomicFile, self.dest)
        except OSError as error:
            raise BadInput(f"cannot write into {self.dest.parent}: {error.strerror}") from None

    async def write(self, data: bytes) -> None:
        assert self._file is not None
        await asyncio.to_thread(self._file.write, data)

    async def commit(self) -> Path:
        assert self._file is not None
        await asyncio.to_thread(self._file.commit)
        self._file = None
        return self.dest

    def discard(self) -> None:
        if self._file is not None:
            self._file.discard()
        self._file = None
