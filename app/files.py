"""Files the GUI writes for the user: exported keys, certificates, CRLs (atomic, 0600 for secrets)."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from core.errors import AlreadyExists, BadInput, NotFound
from core.fsio import atomic_write

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_KEY_FILE = 1024 * 1024  # real key files are a few KiB; refuse to slurp a wrong 4 GiB pick


def read_key_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_KEY_FILE:
            raise BadInput(f"{path.name} is {size} bytes; a key file is a few kilobytes — "
                           "choose the key file itself")
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{path} does not exist") from None
    except IsADirectoryError:
        raise BadInput(f"{path} is a folder; choose a key file") from None
    except PermissionError:
        raise BadInput(f"{path} cannot be read (permission denied)") from None


def key_name_from_path(path: Path) -> str:
    stem = path.name
    for suffix in (".pem", ".key", ".der", ".p8", ".pk8"):
        if stem.lower().endswith(suffix) and len(stem) > len(suffix):
            stem = stem[: -len(suffix)]
            break
    return safe_file_stem(stem)[:56]


def safe_file_stem(text: str) -> str:
    cleaned = _UNSAFE_FILE_CHARS.sub("-", text.strip()).strip("-.")
    return cleaned or "key"


def unique_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    index = 2
    while f"{base}-{index}" in taken:
        index += 1
    return f"{base}-{index}"


def write_file(path: Path, data: bytes, *, secret: bool = False) -> None:
    """Atomic write (see ``core.fsio``): 0600 for a secret, 0644 for anything meant to be shared."""
    atomic_write(Path(path), data, mode=0o600 if secret else 0o644)


def write_new_files(directory: Path, files: dict[str, bytes], *,
                    secret_names: Collection[str] = ()) -> list[Path]:
    """Write every file into ``directory``, refusing up front if any of them already exists."""
    if not directory.is_dir():
        raise NotFound(f"the folder {directory} does not exist; choose another")
    targets = [directory / name for name in files]
    clashes = [target.name for target in targets if target.exists()]
    if clashes:
        raise AlreadyExists(f"{', '.join(clashes)} already exist in {directory}; "
                            "choose an empty folder or move the old files away")
    for target in targets:
        write_file(target, files[target.name], secret=target.name in secret_names)
    return targets
