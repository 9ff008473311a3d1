"""Read a folder of loose collateral (PEM/DER certificates, CRLs, Intel JSON) into items.

Files are classified by content, so names do not matter: a folder laid out like the accompanying
test corpus (``vcek.der``, ``ask.pem``, ``tcbInfo.json``, ``pck_crl.der`` ...) or a folder a user
filled by hand both work. Files that are not collateral (reports, quotes, notes) are skipped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from core.attestation.collateral.classify import classify_blob
from core.attestation.collateral.errors import CollateralDataError
from core.attestation.collateral.items import CollateralItem
from core.errors import BadInput

log = logging.getLogger(__name__)

MAX_FILE_SIZE = 4 * 1024 * 1024
MAX_FILES = 1000
MAX_DEPTH = 2


class CollateralDirError(BadInput):
    code = "collateral-dir"


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    level = [root]
    for _ in range(MAX_DEPTH):
        next_level: list[Path] = []
        for directory in level:
            for entry in sorted(directory.iterdir()):
                if entry.name.startswith("."):
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    next_level.append(entry)
                elif entry.is_file():
                    found.append(entry)
        level = next_level
    if len(found) > MAX_FILES:
        raise CollateralDirError(f"{root} holds {len(found)} files; a collateral folder holds at most "
                                 f"{MAX_FILES}. Point at the folder of one evidence set.")
    return found


def load_collateral_dir(path: str | Path) -> list[CollateralItem]:
    """Every collateral item found in ``path`` (and its direct sub-folders), one per kind and key.

    When two files give the same kind and key, the one valid for longer wins.
    """
    root = Path(path)
    if not root.is_dir():
        raise CollateralDirError(f"collateral folder {root} does not exist or is not a folder")
    chosen: dict[tuple[str, str], CollateralItem] = {}
    for file in _files(root):
        for item in _items_of(file):
            current = chosen.get((item.kind, item.key))
            if current is None or _later(item, current):
                chosen[(item.kind, item.key)] = item
    return sorted(chosen.values(), key=lambda i: (i.kind, i.key))


def _later(new: CollateralItem, old: CollateralItem) -> bool:
    far = datetime.max.replace(tzinfo=timezone.utc)
    return (new.not_after or far) > (old.not_after or far)


def _items_of(file: Path) -> list[CollateralItem]:
    try:
        if file.stat().st_size > MAX_FILE_SIZE:
            log.info("skipping %s: larger than any collateral", file)
            return []
        data = file.read_bytes()
    except OSError as exc:
        raise CollateralDirError(f"cannot read {file}: {exc.strerror}") from None
    fetched = datetime.fromtimestamp(file.stat().st_mtime, tz=timezone.utc)
    out = []
    for kind, key, blob in classify_blob(data):
        try:
            out.append(CollateralItem.create(kind, key, blob, source_url=file.resolve().as_uri(),
                                             fetched_at=fetched))
        except CollateralDataError as exc:
            log.info("skipping %s as %s: %s", file, kind, exc)
    return out
