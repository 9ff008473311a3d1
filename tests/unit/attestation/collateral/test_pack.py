"""Offline packs: deterministic export, exact round trip, and refusal of damaged or unsafe packs."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.attestation.collateral import kinds as K
from core.attestation.collateral.cache import CollateralCache
from core.attestation.collateral.errors import CollateralPackError
from core.attestation.collateral.items import CollateralItem
from core.attestation.collateral.pack import export_pack, import_pack, read_pack
from core.errors import BadInput

from .helpers import cert, crl, der, pem, tcb_info_json

FETCHED = datetime(2025, 3, 2, 8, 30, tzinfo=timezone.utc)


def _items() -> list[CollateralItem]:
    def make(kind: str, key: str, data: bytes) -> CollateralItem:
        return CollateralItem.create(kind, key, data, source_url=f"https://src.test/{key}", fetched_at=FETCHED)
    return [make(K.INTEL_TCB_INFO, "b0c06f000000", tcb_info_json()),
            make(K.AMD_VCEK, "Milan/aa/blSPL=1", der(cert("vcek"))),
            make(K.AMD_CERT_CHAIN, "vcek/Milan", pem(cert("ask"), cert("ark"))),
            make(K.AMD_CRL, "vcek/Milan", crl())]


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return export_pack(_items(), tmp_path / "collateral.zip")


def _rewrite(source: Path, target: Path, change) -> Path:  # type: ignore[no-untyped-def]
    """Copy a pack member by member, letting ``change(name, data)`` alter or drop members."""
    out = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            result = change(info.filename, zin.read(info))
            if result is not None:
                name, data = result
                zout.writestr(name, data)
    target.write_bytes(out.getvalue())
    return target


def test_export_import_on_a_fresh_cache_is_byte_identical(pack: Path, tmp_path: Path) -> None:
    cache = CollateralCache(tmp_path / "fresh")
    imported = import_pack(pack, cache)
    original = {(i.kind, i.key): i for i in _items()}
    assert len(imported) == len(original)
    for item in imported:
        assert item == original[(item.kind, item.key)]  # bytes, source, fetch time, validity
    again = CollateralCache(tmp_path / "fresh")
    assert sorted((i.kind, i.key, i.data) for i in again.items()) == sorted(
        (i.kind, i.key, i.data) for i in original.values())


def test_export_is_deterministic_and_ordered(pack: Path, tmp_path: Path) -> None:
    other = export_pack(list(reversed(_items())), tmp_path / "other.zip")
    assert other.read_bytes() == pack.read_bytes()
    with zipfile.ZipFile(pack) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert names[0] == "manifest.json"
    keys = [(e["kind"], e["key"]) for e in manifest["items"]]
    assert keys == sorted(keys)
    assert set(manifest["items"][0]) == {"kind", "key", "source_url", "fetched_at", "size", "sha256", "member"}


def test_tampered_member_is_named(pack: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(pack) as archive:
        victim = archive.namelist()[2]
    bad = _rewrite(pack, tmp_path / "bad.zip",
                   lambda n, d: (n, d[:-1] + bytes([d[-1] ^ 1])) if n == victim else (n, d))
    with pytest.raises(CollateralPackError) as info:
        import_pack(bad, CollateralCache(tmp_path / "c"))
    assert info.value.member == victim and info.value.code == "collateral-pack-hash"
    assert victim in str(info.value) and "tampered" in str(info.value)
    assert isinstance(info.value, BadInput)
    assert CollateralCache(tmp_path / "c").items() == []  # nothing imported from a bad pack


def test_truncated_pack_names_the_cut_member(pack: Path, tmp_path: Path) -> None:
    data = pack.read_bytes()
    with zipfile.ZipFile(pack) as archive:
        infos = archive.infolist()
    cut = infos[2].header_offset + 40 + len(infos[2].filename)  # inside member 2's data
    short = tmp_path / "short.zip"
    short.write_bytes(data[:cut])
    with pytest.raises(CollateralPackError, match="truncated") as info:
        read_pack(short)
    assert info.value.member == infos[2].filename
    assert info.value.code == "collateral-pack-truncated"


def test_pack_cut_after_all_members_names_the_last_one(pack: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(pack) as archive:
        infos = archive.infolist()
    end = infos[-1].header_offset + 30 + len(infos[-1].filename) + infos[-1].compress_size
    short = tmp_path / "short.zip"
    short.write_bytes(pack.read_bytes()[:end])
    with pytest.raises(CollateralPackError, match="index is missing") as info:
        read_pack(short)
    assert info.value.member == infos[-1].filename


@pytest.mark.parametrize("evil", ["../../etc/passwd", "/tmp/x.bin", "items/../../x.bin", "items/abc.bin"])
def test_zip_slip_and_foreign_names_are_refused(pack: Path, tmp_path: Path, evil: str) -> None:
    def add(name: str, data: bytes):  # type: ignore[no-untyped-def]
        return (name, data)
    bad = _rewrite(pack, tmp_path / "evil.zip", add)
    with zipfile.ZipFile(bad, "a") as archive:
        archive.writestr(evil, b"x")
    with pytest.raises(CollateralPackError) as info:
        read_pack(bad)
    assert info.value.member == evil and info.value.code == "collateral-pack-unsafe"


def test_oversize_member_is_refused(pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.attestation.collateral.pack as pack_module
    monkeypatch.setattr(pack_module, "MAX_MEMBER_SIZE", 100)
    with pytest.raises(CollateralPackError) as info:
        read_pack(pack)
    assert info.value.code == "collateral-pack-oversize" and info.value.member.startswith("items/")


def test_unlisted_and_missing_members_are_refused(pack: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(pack) as archive:
        victim = archive.namelist()[1]
    dropped = _rewrite(pack, tmp_path / "dropped.zip", lambda n, d: None if n == victim else (n, d))
    with pytest.raises(CollateralPackError, match="does not hold") as info:
        read_pack(dropped)
    assert info.value.member == victim
    extra_name = "items/" + "0" * 64 + ".bin"
    with zipfile.ZipFile(_rewrite(pack, tmp_path / "extra.zip", lambda n, d: (n, d)), "a") as archive:
        archive.writestr(extra_name, b"smuggled")
    with pytest.raises(CollateralPackError, match="not listed") as info:
        read_pack(tmp_path / "extra.zip")
    assert info.value.member == extra_name


def test_manifest_lies_about_kind(pack: Path, tmp_path: Path) -> None:
    def relabel(name: str, data: bytes):  # type: ignore[no-untyped-def]
        if name != "manifest.json":
            return (name, data)
        doc = json.loads(data)
        vcek = next(e for e in doc["items"] if e["kind"] == K.AMD_VCEK)
        vcek["kind"] = K.AMD_CRL
        return (name, json.dumps(doc).encode())
    with pytest.raises(CollateralPackError, match="is not what manifest.json says") as info:
        read_pack(_rewrite(pack, tmp_path / "lie.zip", relabel))
    assert info.value.member.startswith("items/")


def test_not_a_zip_and_wrong_version(tmp_path: Path, pack: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"hello, not a zip at all")
    with pytest.raises(CollateralPackError, match="not a zip") as info:
        read_pack(junk)
    assert info.value.code == "collateral-pack-format"
    bumped = _rewrite(pack, tmp_path / "v2.zip", lambda n, d: (n, d.replace(b'"version": 1', b'"version": 2'))
                      if n == "manifest.json" else (n, d))
    with pytest.raises(CollateralPackError, match="version 2 pack"):
        read_pack(bumped)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_damaged_packs_raise_only_pack_errors(pack: Path, tmp_path: Path, data: st.DataObject) -> None:
    raw = bytearray(pack.read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    target = tmp_path / "fuzz.zip"
    target.write_bytes(bytes(raw[:cut]) if data.draw(st.booleans()) else bytes(raw))
    try:
        items = read_pack(target)
    except CollateralPackError:
        return
    # whatever survives damage must still be exactly what was exported
    exported = {(i.kind, i.key): i.data for i in _items()}
    assert all(exported.get((i.kind, i.key)) == i.data for i in items)
