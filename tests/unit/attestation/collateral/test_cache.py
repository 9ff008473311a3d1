"""CollateralCache: round trip, persistence across instances, atomic index, recovery from damage."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.attestation.collateral import kinds as K
from core.attestation.collateral.cache import CollateralCache
from core.attestation.collateral.items import CollateralItem

from .helpers import cert, crl, der, pem

FETCHED = datetime(2025, 3, 2, tzinfo=timezone.utc)


def _item(kind: str, key: str, data: bytes) -> CollateralItem:
    return CollateralItem.create(kind, key, data, source_url=f"https://kds.test/{key}", fetched_at=FETCHED)


def test_round_trip_and_persistence_across_instances(tmp_path: Path) -> None:
    cache = CollateralCache.for_workspace(tmp_path)
    assert cache.root == tmp_path / "collateral"
    vcek = cache.put(_item(K.AMD_VCEK, "Milan/aa/blSPL=1", der(cert("vcek"))))
    cache.put(_item(K.AMD_CRL, "vcek/Milan", crl()))
    again = CollateralCache(tmp_path / "collateral")
    got = again.get(K.AMD_VCEK, "Milan/aa/blSPL=1")
    assert got == vcek
    assert got is not None and got.data == der(cert("vcek"))
    assert {(i.kind, i.key) for i in again.items()} == {(K.AMD_VCEK, "Milan/aa/blSPL=1"), (K.AMD_CRL, "vcek/Milan")}
    assert [i.key for i in again.items(K.AMD_CRL)] == ["vcek/Milan"]
    assert again.get(K.AMD_VCEK, "other") is None


def test_objects_are_content_addressed_and_private(tmp_path: Path) -> None:
    cache = CollateralCache(tmp_path)
    item = cache.put(_item(K.AMD_VCEK, "k", der(cert("vcek"))))
    obj = tmp_path / "objects" / f"{item.sha256}.bin"
    assert obj.read_bytes() == item.data
    assert stat.S_IMODE(obj.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "index.json").stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left behind


def test_put_replaces_same_kind_and_key(tmp_path: Path) -> None:
    cache = CollateralCache(tmp_path)
    cache.put(_item(K.AMD_CERT_CHAIN, "vcek/Milan", pem(cert("ask"), cert("ark"))))
    newer = cache.put(_item(K.AMD_CERT_CHAIN, "vcek/Milan", pem(cert("ask2"), cert("ark"))))
    assert cache.items() == [newer]


def test_remove_drops_entry_and_unshared_object(tmp_path: Path) -> None:
    cache = CollateralCache(tmp_path)
    shared = der(cert("shared"))
    a = cache.put(_item(K.AMD_VCEK, "a", shared))
    cache.put(_item(K.AMD_VCEK, "b", shared))
    assert cache.remove(K.AMD_VCEK, "a") is True
    assert (tmp_path / "objects" / f"{a.sha256}.bin").exists()  # still used by "b"
    assert cache.remove(K.AMD_VCEK, "b") is True
    assert not (tmp_path / "objects" / f"{a.sha256}.bin").exists()
    assert cache.remove(K.AMD_VCEK, "b") is False


def test_corrupted_index_is_rebuilt_from_backup_and_objects(tmp_path: Path) -> None:
    cache = CollateralCache(tmp_path)
    first = cache.put(_item(K.AMD_CRL, "vcek/Milan", crl()))
    second = cache.put(_item(K.AMD_CRL, "vcek/Genoa", crl("ARK-Genoa")))
    (tmp_path / "index.json").write_bytes(b'{"format": "prism-collateral-index", "vers')
    recovered = CollateralCache(tmp_path)
    items = {(i.kind, i.key): i for i in recovered.items()}
    # the first CRL comes back from the backup with its metadata; the second from its object, classified
    assert items[(K.AMD_CRL, "vcek/Milan")] == first
    assert items[(K.AMD_CRL, "vcek/Genoa")].data == second.data
    assert len(items) == 2
    assert list(tmp_path.glob("index.json.corrupt-*")), "the damaged index is kept aside"
    assert json.loads((tmp_path / "index.json").read_bytes())["format"] == "prism-collateral-index"


def test_rebuild_without_backup_classifies_objects(tmp_path: Path) -> None:
    cache = CollateralCache(tmp_path)
    stored = cache.put(_item(K.AMD_CRL, "vcek/Milan", crl("ARK-Genoa")))
    (tmp_path / "index.json").write_text("not json")
    (tmp_path / "index.json.bak").unlink(missing_ok=True)
    items = CollateralCache(tmp_path).items()
    assert [(i.kind, i.key, i.data) for i in items] == [(K.AMD_CRL, "vcek/Genoa", stored.data)]
    assert items[0].source_url.startswith("recovered:")


def test_damaged_object_is_not_served(tmp_path: Path) -> None:
    cache = CollateralCache(tmp_path)
    item = cache.put(_item(K.AMD_VCEK, "k", der(cert("vcek"))))
    (tmp_path / "objects" / f"{item.sha256}.bin").write_bytes(b"tampered")
    assert cache.get(K.AMD_VCEK, "k") is None
    assert list((tmp_path / "objects").glob("*.damaged-*")), "the damaged bytes are kept for inspection"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(max_size=300) | st.sampled_from([b"[]", b'{"format": "prism-collateral-index", "version": 1}',
       b'{"format": "prism-collateral-index", "version": 1, "entries": [{"kind": 1}]}']))
def test_fuzz_any_index_damage_is_recovered(tmp_path: Path, garbage: bytes) -> None:
    root = tmp_path / str(abs(hash(garbage)))
    cache = CollateralCache(root)
    stored = cache.put(_item(K.AMD_CRL, "vcek/Genoa", crl("ARK-Genoa")))
    (root / "index.json").write_bytes(garbage)
    (root / "index.json.bak").unlink(missing_ok=True)
    items = CollateralCache(root).items()
    assert [i.data for i in items] == [stored.data]
