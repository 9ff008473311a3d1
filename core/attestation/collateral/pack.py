"""Offline collateral packs: one zip file that carries collateral to a machine without network.

Layout: ``manifest.json`` first, then ``items/<sha256>.bin`` in manifest order. The manifest lists
kind, key, source, fetch time, size and SHA-256 of every item, sorted by (kind, key); member
timestamps are fixed, so the same items always give the same bytes. On import nothing is trusted:
every name, size and hash is checked and every item is parsed before anything reaches the cache.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from core.attestation.collateral.cache import CollateralCache, atomic_write
from core.attestation.collateral.directory import load_collateral_dir
from core.attestation.collateral.errors import CollateralDataError, CollateralPackError
from core.attestation.collateral.items import CollateralItem, utc
from core.attestation.collateral.select import snp_inputs, tdx_collateral

__all__ = ["export_pack", "import_pack", "read_pack", "load_collateral_dir", "snp_inputs", "tdx_collateral"]

PACK_FORMAT = "prism-collateral-pack"
PACK_VERSION = 1
MANIFEST = "manifest.json"
MAX_MEMBER_SIZE = 16 * 1024 * 1024
MAX_MANIFEST_SIZE = 4 * 1024 * 1024
MAX_MEMBERS = 2000
_MEMBER_NAME = re.compile(r"items/[0-9a-f]{64}\.bin")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# what zipfile and zlib raise on damaged input (a damaged pack must only ever give a pack error)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, OSError, EOFError,
               ValueError, NotImplementedError, OverflowError)


# --- export --------------------------------------------------------------------------------------

def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    info.create_system = 3  # fixed "made by" so the bytes do not depend on the exporting OS
    return info


def export_pack(items: Iterable[CollateralItem], path: str | Path) -> Path:
    """Write ``items`` into one pack file at ``path`` (atomically) and return the path."""
    unique: dict[tuple[str, str], CollateralItem] = {}
    for item in items:
        unique[(item.kind, item.key)] = item
    ordered = [unique[k] for k in sorted(unique)]
    manifest = {"format": PACK_FORMAT, "version": PACK_VERSION, "items": [
        {"kind": i.kind, "key": i.key, "source_url": i.source_url, "fetched_at": i.fetched_at.isoformat(),
         "size": len(i.data), "sha256": i.sha256, "member": f"items/{i.sha256}.bin"} for i in ordered]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_zip_info(MANIFEST), json.dumps(manifest, indent=1, sort_keys=True).encode())
        written: set[str] = set()
        for item in ordered:
            member = f"items/{item.sha256}.bin"
            if member not in written:  # identical bytes under two keys are stored once
                written.add(member)
                archive.writestr(_zip_info(member), item.data)
    target = Path(path)
    atomic_write(target, buffer.getvalue())
    return target


# --- import --------------------------------------------------------------------------------------

def import_pack(path: str | Path, cache: CollateralCache) -> list[CollateralItem]:
    """Validate the pack at ``path`` completely, then put its items into ``cache``."""
    items = read_pack(path)
    return [cache.put(item) for item in items]


def read_pack(path: str | Path) -> list[CollateralItem]:
    """The items of a pack, fully validated; ``CollateralPackError`` names the bad member."""
    pack = Path(path)
    try:
        data = pack.read_bytes()
    except OSError as exc:
        raise CollateralPackError(f"cannot read the collateral pack {pack}: {exc.strerror}") from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS:
        raise _truncation_error(pack, data) from None
    with archive:
        infos = _check_members(pack, archive)
        entries = _manifest(pack, archive, infos)
        return [_item(pack, archive, infos, entry) for entry in entries]


def _check_members(pack: Path, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise CollateralPackError(f"{pack} has {len(infos)} members; a pack holds at most {MAX_MEMBERS}")
    out: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if name != MANIFEST and not _MEMBER_NAME.fullmatch(name):
            # Covers zip-slip ("../x", "/etc/x", "C:\\x"): only our own flat names are accepted.
            raise CollateralPackError(f"{pack} holds a member with a name a pack never has: {name!r}; "
                                      "the file was not made by this app and was refused", member=name,
                                      code="collateral-pack-unsafe")
        if name in out:
            raise CollateralPackError(f"{pack} holds member {name} twice", member=name)
        limit = MAX_MANIFEST_SIZE if name == MANIFEST else MAX_MEMBER_SIZE
        if info.file_size > limit:
            raise CollateralPackError(f"member {name} of {pack} is {info.file_size} bytes, over the "
                                      f"{limit}-byte limit; refused", member=name, code="collateral-pack-oversize")
        out[name] = info
    if MANIFEST not in out:
        raise CollateralPackError(f"{pack} has no {MANIFEST}; it is not a collateral pack", member=MANIFEST)
    return out


def _read_member(pack: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    limit = MAX_MANIFEST_SIZE if info.filename == MANIFEST else MAX_MEMBER_SIZE
    try:
        with archive.open(info) as handle:
            data = handle.read(limit + 1)  # the header's size can lie; never read past the limit
    except _ZIP_ERRORS as exc:
        raise CollateralPackError(f"member {info.filename} of {pack} is damaged ({exc}); get the pack "
                                  "again", member=info.filename) from None
    if len(data) > limit:
        raise CollateralPackError(f"member {info.filename} of {pack} unpacks to more than {limit} bytes; "
                                  "refused", member=info.filename, code="collateral-pack-oversize")
    return data


def _manifest(pack: Path, archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> list[dict[str, Any]]:
    raw = _read_member(pack, archive, infos[MANIFEST])
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise CollateralPackError(f"{MANIFEST} of {pack} is not valid JSON", member=MANIFEST) from None
    if not isinstance(doc, dict) or doc.get("format") != PACK_FORMAT:
        raise CollateralPackError(f"{MANIFEST} of {pack} is not a collateral pack manifest", member=MANIFEST)
    if doc.get("version") != PACK_VERSION:
        raise CollateralPackError(f"{pack} is a version {doc.get('version')!r} pack; this app reads version "
                                  f"{PACK_VERSION}. Update the app.", member=MANIFEST)
    entries = doc.get("items")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CollateralPackError(f"{MANIFEST} of {pack} has no item list", member=MANIFEST)
    listed = {e.get("member") for e in entries}
    extra = sorted(set(infos) - listed - {MANIFEST})
    if extra:
        raise CollateralPackError(f"member {extra[0]} of {pack} is not listed in {MANIFEST}; the pack was "
                                  "altered", member=extra[0])
    return entries


def _text(entry: dict[str, Any], field: str, member: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value:
        raise CollateralPackError(f"{MANIFEST} lists {member} without a valid '{field}'", member=MANIFEST)
    return value


def _item(pack: Path, archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo],
          entry: dict[str, Any]) -> CollateralItem:
    member = entry.get("member")
    if not isinstance(member, str) or member not in infos:
        raise CollateralPackError(f"{MANIFEST} of {pack} lists member {member!r}, which the pack does not "
                                  "hold (truncated or altered)", member=str(member))
    digest = _text(entry, "sha256", member)
    data = _read_member(pack, archive, infos[member])
    if hashlib.sha256(data).hexdigest() != digest or member != f"items/{digest}.bin":
        raise CollateralPackError(f"member {member} of {pack} does not match its SHA-256 in {MANIFEST}: the "
                                  "pack was tampered with or damaged", member=member, code="collateral-pack-hash")
    if entry.get("size") != len(data):
        raise CollateralPackError(f"member {member} of {pack} has {len(data)} bytes but {MANIFEST} says "
                                  f"{entry.get('size')!r}", member=member)
    try:
        fetched = utc(datetime.fromisoformat(_text(entry, "fetched_at", member)))
        return CollateralItem.create(_text(entry, "kind", member), _text(entry, "key", member), data,
                                     source_url=_text(entry, "source_url", member), fetched_at=fetched)
    except (CollateralDataError, ValueError) as exc:
        raise CollateralPackError(f"member {member} of {pack} is not what {MANIFEST} says: {exc}",
                                  member=member) from None


# --- truncation diagnosis ------------------------------------------------------------------------

_LOCAL = struct.Struct("<4sHHHHHIIIHH")


def _truncation_error(pack: Path, data: bytes) -> CollateralPackError:
    """Walk the local headers to name the member a truncated pack lost."""
    offset, last = 0, None
    while offset + _LOCAL.size <= len(data) and data[offset:offset + 4] == b"PK\x03\x04":
        fields = _LOCAL.unpack_from(data, offset)
        compressed, name_len, extra_len = fields[7], fields[9], fields[10]
        name = data[offset + _LOCAL.size:offset + _LOCAL.size + name_len].decode("utf-8", "replace")
        end = offset + _LOCAL.size + name_len + extra_len + compressed
        if end > len(data):
            return CollateralPackError(f"{pack} is truncated: member {name} is cut short ({len(data)} bytes "
                                       "in the file); copy the pack again", member=name,
                                       code="collateral-pack-truncated")
        offset, last = end, name
    if last is None:
        return CollateralPackError(f"{pack} is not a collateral pack (not a zip file)", code="collateral-pack-format")
    return CollateralPackError(f"{pack} is truncated after member {last}: its index is missing; copy the pack "
                               "again", member=last, code="collateral-pack-truncated")
