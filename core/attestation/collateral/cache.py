"""A per-workspace collateral cache: content-addressed object files plus one JSON index.

Layout under ``root`` (the workspace's ``cache_dir / "collateral"``)::

    objects/<sha256>.bin   exact item bytes, named by their SHA-256
    index.json             [{kind, key, sha256, source_url, fetched_at, not_before, not_after}]
    index.json.bak         the previous index, kept by every write

Every file is written atomically (0600 temp file, fsync, replace). A damaged index is moved
aside and rebuilt from the backup plus the objects themselves (classified by content), so a
crash or a stray edit never loses collateral.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.attestation.collateral.classify import classify_blob
from core.attestation.collateral.errors import CollateralCacheError, CollateralDataError
from core.attestation.collateral.items import CollateralItem, utc
from core.fsio import NotARegularFile, atomic_write

log = logging.getLogger(__name__)

INDEX_FORMAT = "prism-collateral-index"
INDEX_VERSION = 1
MAX_OBJECT_SIZE = 16 * 1024 * 1024


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(text: Any) -> datetime | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError("time is not a string")
    return utc(datetime.fromisoformat(text))


class CollateralCache:
    """The collateral of one workspace. Each call reads the index from disk, so two instances on
    the same folder see each other's writes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.index_path = self.root / "index.json"
        self.backup_path = self.root / "index.json.bak"
        # no folder is created here: reading a cache that was never written (or whose workspace was
        # deleted or renamed meanwhile) must leave the disk as it found it; ``_write`` creates them

    def _make_folders(self) -> None:
        try:
            self.objects.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise CollateralCacheError(
                f"cannot create the collateral cache at {self.root}: {exc.strerror}; check the "
                "workspace folder's permissions") from None

    @classmethod
    def for_workspace(cls, cache_dir: Path) -> CollateralCache:
        return cls(Path(cache_dir) / "collateral")

    # --- public API ------------------------------------------------------------------------

    def put(self, item: CollateralItem) -> CollateralItem:
        """Store ``item``, replacing any earlier item of the same kind and key."""
        object_path = self.objects / f"{item.sha256}.bin"
        if not self._object_ok(object_path, item.sha256):
            self._write(object_path, item.data)
        entries = [e for e in self._load() if (e["kind"], e["key"]) != (item.kind, item.key)]
        entries.append(self._entry(item))
        self._save(entries)
        return item

    def get(self, kind: str, key: str) -> CollateralItem | None:
        for entry in self._load():
            if entry["kind"] == kind and entry["key"] == key:
                return self._item(entry)
        return None

    def items(self, kind: str | None = None) -> list[CollateralItem]:
        out = []
        for entry in self._load():
            if kind is None or entry["kind"] == kind:
                item = self._item(entry)
                if item is not None:
                    out.append(item)
        return out

    def remove(self, kind: str, key: str) -> bool:
        """Forget an item. Its object file goes too unless another entry shares the bytes."""
        entries = self._load()
        keep = [e for e in entries if (e["kind"], e["key"]) != (kind, key)]
        if len(keep) == len(entries):
            return False
        self._save(keep)
        gone = {e["sha256"] for e in entries} - {e["sha256"] for e in keep}
        for digest in gone:
            (self.objects / f"{digest}.bin").unlink(missing_ok=True)
        return True

    # --- entries ---------------------------------------------------------------------------

    @staticmethod
    def _entry(item: CollateralItem) -> dict[str, Any]:
        return {"kind": item.kind, "key": item.key, "sha256": item.sha256, "source_url": item.source_url,
                "fetched_at": _iso(item.fetched_at), "not_before": _iso(item.not_before),
                "not_after": _iso(item.not_after)}

    def _item(self, entry: dict[str, Any]) -> CollateralItem | None:
        path = self.objects / f"{entry['sha256']}.bin"
        try:
            data = path.read_bytes()
        except OSError:
            log.warning("collateral object %s for %s [%s] is missing", path.name, entry["kind"], entry["key"])
            return None
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            # Never hand out damaged bytes; keep them aside for inspection and let a fetch replace them.
            log.warning("collateral object %s is damaged; moved aside", path.name)
            path.replace(path.with_suffix(f".damaged-{int(time.time())}"))
            return None
        return CollateralItem(entry["kind"], entry["key"], data, entry["source_url"],
                              _time(entry["fetched_at"]) or datetime.now(timezone.utc),
                              _time(entry["not_before"]), _time(entry["not_after"]))

    def _object_ok(self, path: Path, digest: str) -> bool:
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest() == digest
        except OSError:
            return False

    # --- the index -------------------------------------------------------------------------

    def _load(self) -> list[dict[str, Any]]:
        try:
            raw = self.index_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise CollateralCacheError(f"cannot read the collateral index {self.index_path}: "
                                       f"{exc.strerror}") from None
        try:
            return _parse_index(raw)
        except ValueError as exc:
            return self._recover(str(exc))

    def _save(self, entries: list[dict[str, Any]]) -> None:
        entries = sorted(entries, key=lambda e: (e["kind"], e["key"]))
        doc = {"format": INDEX_FORMAT, "version": INDEX_VERSION, "entries": entries}
        if self.index_path.exists():
            try:
                atomic_write(self.backup_path, self.index_path.read_bytes())
            except (OSError, NotARegularFile):
                pass  # the backup is a convenience; the new index is what matters
        self._write(self.index_path, json.dumps(doc, indent=1, sort_keys=True).encode())

    def _write(self, path: Path, data: bytes) -> None:
        self._make_folders()
        try:
            atomic_write(path, data)
        except NotARegularFile as exc:
            raise CollateralCacheError(f"cannot write the collateral cache: {exc}") from None
        except OSError as exc:
            raise CollateralCacheError(f"cannot write {path}: {exc.strerror}; check free space and "
                                       "the workspace folder's permissions") from None

    def _recover(self, problem: str) -> list[dict[str, Any]]:
        """Rebuild a damaged index from its backup and the objects; keep the damaged file aside."""
        aside = self.index_path.with_name(f"index.json.corrupt-{int(time.time())}")
        log.warning("the collateral index is damaged (%s); rebuilding it, old copy kept as %s",
                    problem, aside.name)
        self.index_path.replace(aside)
        entries = self._backup_entries()
        known = {e["sha256"] for e in entries}
        taken = {(e["kind"], e["key"]) for e in entries}
        for path in sorted(self.objects.glob("*.bin")):
            if path.stem in known:
                continue
            for entry in _entries_from_object(path):
                if (entry["kind"], entry["key"]) not in taken:
                    taken.add((entry["kind"], entry["key"]))
                    entries.append(entry)
        self._save(entries)
        return entries

    def _backup_entries(self) -> list[dict[str, Any]]:
        try:
            entries = _parse_index(self.backup_path.read_bytes())
        except (OSError, ValueError):
            return []
        return [e for e in entries if self._object_ok(self.objects / f"{e['sha256']}.bin", e["sha256"])]


_FIELDS = ("kind", "key", "sha256", "source_url", "fetched_at", "not_before", "not_after")


def _parse_index(raw: bytes) -> list[dict[str, Any]]:
    """The index entries, or ValueError naming what is wrong."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != INDEX_FORMAT or doc.get("version") != INDEX_VERSION:
        raise ValueError("not a collateral index of a version this app reads")
    entries = doc.get("entries")
    if not isinstance(entries, list):
        raise ValueError("no entry list")
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != set(_FIELDS):
            raise ValueError("an entry has the wrong fields")
        if not all(isinstance(entry[f], str) for f in _FIELDS[:4]):
            raise ValueError("an entry has a non-text field")
        for name in _FIELDS[4:]:
            _time(entry[name])
    return entries


def _entries_from_object(path: Path) -> list[dict[str, Any]]:
    try:
        data = path.read_bytes()
    except OSError:
        return []
    if hashlib.sha256(data).hexdigest() != path.stem:
        return []
    fetched = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    out = []
    for kind, key, blob in classify_blob(data):
        if blob != data:
            continue  # only whole objects can be re-indexed under their own digest
        try:
            item = CollateralItem.create(kind, key, data, source_url=f"recovered:{path.name}",
                                         fetched_at=fetched)
        except CollateralDataError:
            continue
        out.append(CollateralCache._entry(item))
    return out
