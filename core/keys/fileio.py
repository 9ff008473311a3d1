"""Atomic, owner-only file writes and bounded reads for secret-bearing files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from core.errors import NotFound, PrismError, Refused
from core.fsio import AtomicFile

log = logging.getLogger(__name__)

#: a keystore or backup larger than this is not one of ours; refuse before reading it all
MAX_FILE_BYTES = 64 * 1024 * 1024


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (owner-only, fsynced, directory fsynced): see ``core.fsio``.

    Creates a missing parent folder owner-only, because it will hold secrets.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with AtomicFile(path, mode=0o600) as target:
        target.write(data)


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
