"""Work behind the Collateral view, done off the GUI thread and touching no widget.

Reading the cache, importing packs, folders or loose files, exporting and removing run in worker
threads (``Op``). Fetching runs its own event loop in a worker thread: parsing the evidence, the
HTTP exchanges and the cache writes never stall the window, and cancelling the caller (closing
the app) cancels the fetch there too instead of waiting for a slow server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from core.errors import BadInput

if TYPE_CHECKING:  # loaded on first use: the window paints before the crypto stack is imported
    import httpx

    from core.attestation.collateral import CollateralCache, CollateralItem

T = TypeVar("T")

ZIP_MAGIC = b"PK\x03\x04"
MAX_LOOSE_FILE = 4 * 1024 * 1024  # far above any certificate, CRL or Intel JSON
USER_AGENT = "prism-desktop (collateral fetcher)"
_CANCELLED = object()


class CollateralImportError(BadInput):
    """A dropped or chosen file that is neither a collateral pack, a folder nor collateral."""

    code = "collateral-import"


def make_http_client() -> httpx.AsyncClient:
    """The HTTP client for AMD KDS and Intel PCS (module level so tests can serve it locally).

    Called inside the fetching coroutine, on the loop that will also close it.
    """
    import httpx

    return httpx.AsyncClient(headers={"User-Agent": USER_AGENT})


def _cache(cache_dir: Path) -> CollateralCache:
    from core.attestation.collateral import CollateralCache

    return CollateralCache.for_workspace(cache_dir)


def cached_items(cache_dir: Path) -> list[CollateralItem]:
    items = _cache(cache_dir).items()
    return sorted(items, key=lambda item: (item.kind, item.key))


# --- import ----------------------------------------------------------------------------------

def read_import(paths: Sequence[Path]) -> list[CollateralItem]:
    """Every item in ``paths`` (packs, folders, loose files), all read and checked before any is kept."""
    found: dict[tuple[str, str], CollateralItem] = {}
    for path in paths:
        for item in _items_in(Path(path)):
            found[(item.kind, item.key)] = item
    return list(found.values())


def import_paths(cache_dir: Path, paths: Sequence[Path]) -> list[CollateralItem]:
    items = read_import(paths)
    cache = _cache(cache_dir)
    return [cache.put(item) for item in items]


def _items_in(path: Path) -> list[CollateralItem]:
    from core.attestation.collateral import load_collateral_dir, read_pack

    if path.is_dir():
        items = load_collateral_dir(path)
        if not items:
            raise CollateralImportError(f"the folder {path} holds no collateral (certificates, CRLs or "
                                        "Intel TCB Info / QE Identity JSON); nothing was imported")
        return items
    head = _read(path, 4)
    if head == ZIP_MAGIC:
        return read_pack(path)
    return _loose_items(path)


def _read(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(limit)
    except FileNotFoundError:
        raise CollateralImportError(f"{path} does not exist (moved or deleted?)") from None
    except OSError as exc:
        raise CollateralImportError(f"cannot read {path}: {exc.strerror}") from None


def _loose_items(path: Path) -> list[CollateralItem]:
    from core.attestation.collateral import CollateralItem
    from core.attestation.collateral.classify import classify_blob
    from core.attestation.collateral.errors import CollateralDataError

    data = _read(path, MAX_LOOSE_FILE + 1)
    if len(data) > MAX_LOOSE_FILE:
        raise CollateralImportError(f"{path.name} is larger than any collateral file and is not a "
                                    "collateral pack; nothing was imported")
    fetched = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    items = []
    for kind, key, blob in classify_blob(data):
        try:
            items.append(CollateralItem.create(kind, key, blob, source_url=path.resolve().as_uri(),
                                               fetched_at=fetched))
        except CollateralDataError as exc:
            raise CollateralImportError(f"{path.name} looks like collateral but cannot be read: {exc}") from None
    if not items:
        raise CollateralImportError(
            f"{path.name} is neither a collateral pack nor collateral (a certificate, a CRL or Intel "
            "TCB Info / QE Identity JSON); nothing was imported")
    return items


# --- export and remove -----------------------------------------------------------------------

def export_items(items: Sequence[CollateralItem], target: Path) -> Path:
    from core.attestation.collateral import export_pack

    return export_pack(items, target)


def remove_items(cache_dir: Path, keys: Sequence[tuple[str, str]]) -> int:
    cache = _cache(cache_dir)
    return sum(1 for kind, key in keys if cache.remove(kind, key))


# --- fetch -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FetchOutcome:
    evidence: Path
    platform: str                       # "snp" | "tdx"
    items: tuple[CollateralItem, ...]   # everything the evidence needs, fetched or reused
    fetched: int                        # how many of them came from the network just now


def read_evidence(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"the evidence file {path} does not exist (moved or deleted?)") from None
    except OSError as exc:
        raise BadInput(f"cannot read the evidence file {path}: {exc.strerror}") from None


async def fetch_for_evidence(cache_dir: Path, evidence_path: Path, at: datetime,
                             product: str | None = None) -> FetchOutcome:
    """Fetch what ``evidence_path`` needs into the cache; fresh cached items are reused."""
    from core.attestation.collateral import fetch_for_snp_report, fetch_for_tdx_quote
    from core.attestation.evidence import load_evidence

    evidence = load_evidence(read_evidence(evidence_path))
    cache = _cache(cache_dir)
    before = {(i.kind, i.key, i.sha256, i.fetched_at) for i in cache.items()}
    async with make_http_client() as client:
        if evidence.platform == "snp":
            items = await fetch_for_snp_report(evidence.report, client, cache, product=product, at=at)
        else:
            items = await fetch_for_tdx_quote(evidence.quote, client, cache, at=at)
    fetched = sum(1 for i in items if (i.kind, i.key, i.sha256, i.fetched_at) not in before)
    return FetchOutcome(evidence_path, evidence.platform, tuple(items), fetched)


async def in_worker_loop(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Await ``factory()`` run on a private event loop in a worker thread; cancelling the caller
    cancels it there as well."""
    state: dict[str, Any] = {}

    async def main() -> T:
        if state.get("cancelled"):
            raise asyncio.CancelledError
        state["loop"], state["task"] = asyncio.get_running_loop(), asyncio.current_task()
        return await factory()

    def run() -> Any:
        try:
            return asyncio.run(main())
        except asyncio.CancelledError:
            # the caller is gone already; a BaseException must not escape into the thread pool
            return _CANCELLED

    try:
        result = await asyncio.to_thread(run)
    except asyncio.CancelledError:
        state["cancelled"] = True
        loop, task = state.get("loop"), state.get("task")
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the worker loop already finished
                loop.call_soon_threadsafe(task.cancel)
        raise
    if result is _CANCELLED:
        raise asyncio.CancelledError
    return result  # type: ignore[no-any-return]
