"""Read a folder of loose collateral (PEM/DER certificates, CRLs, Intel JSON) into items.

Files are classified by content, so names do not matter: a folder laid out like the accompanying
test corpus (``vcek.der``, ``ask.pem``, ``tcbInfo.json``, ``pck_crl.der`` ...) or a folder a user
filled by hand both work. Files that are not collateral (reports, quotes, notes) are skipped. The
certificate table of an extended SNP report (the host's VCEK, ASK and ARK, §2.7) counts as
collateral too, alone or after the report it came with.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from core.attestation.cert_bundle import is_cert_table, table_certificate_entries
from core.attestation.collateral.classify import classify_blob
from core.attestation.collateral.errors import CollateralDataError
from core.attestation.collateral.items import CollateralItem
from core.attestation.snp.fields import REPORT_SIZE
from core.errors import BadInput, EvidenceError

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


def load_collateral_file(path: str | Path) -> list[CollateralItem]:
    """Every collateral item in one loose file: PEM/DER certificates, a CRL, Intel JSON or a
    certificate table. A file that holds none is refused, so a wrong path is noticed."""
    file = Path(path)
    if not file.is_file():
        raise CollateralDirError(f"collateral file {file} does not exist or is not a file")
    items = _items_of(file)
    if not items:
        raise CollateralDirError(
            f"{file} holds no collateral: no certificate, CRL, Intel TCB Info / QE Identity JSON or SNP "
            "certificate table was found in it; give a collateral pack, a folder or such a file")
    return items


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
    for blob in _blobs(file, data):
        for kind, key, item_bytes in classify_blob(blob):
            try:
                out.append(CollateralItem.create(kind, key, item_bytes, source_url=file.resolve().as_uri(),
                                                 fetched_at=fetched))
            except CollateralDataError as exc:
                log.info("skipping %s as %s: %s", file, kind, exc)
    return out


def _blobs(file: Path, data: bytes) -> list[bytes]:
    """The file itself, or each certificate of the certificate table it is or ends with."""
    table = data if is_cert_table(data) else data[REPORT_SIZE:] if is_cert_table(data[REPORT_SIZE:]) else None
    if table is None:
        return [data]
    try:
        return [entry.data for entry in table_certificate_entries(table)]
    except EvidenceError as exc:
        raise CollateralDirError(f"{file} holds a damaged SNP certificate table: {exc}") from None
