"""Fuzzing the keystore and backup readers: damaged files raise only our typed errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import BackupError, KeystoreCorrupted, KeystoreError, WrongPassphrase
from core.keys.keystore import KdfParams, Keystore

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def samples():
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        store = Keystore.create(root / "ks", passphrase="pw", kdf=KdfParams.FAST)
        store.generate("k", "ed25519")
        store.backup(root / "p.bak", passphrase="pw")
        printed = store.backup(root / "s.bak", shares=3, threshold=2)
        yield {name: (root / name).read_bytes() for name in ("ks", "p.bak", "s.bak")}, printed


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int) -> bytes:
    damaged = bytearray(data)
    for position, value in flips:
        damaged[position % len(damaged)] = value
    return bytes(damaged[: cut % (len(damaged) + 1)])


MUTATIONS = (st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=4),
             st.integers(0, 1 << 16))


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_are_never_a_keystore(tmp_path, data):
    path = tmp_path / "random"
    path.write_bytes(data)
    with pytest.raises(KeystoreCorrupted):
        Keystore.open(path, passphrase="pw")


@FUZZ
@given(*MUTATIONS)
def test_mutated_keystores_raise_only_keystore_errors(tmp_path, samples, flips, cut):
    original = samples[0]["ks"]
    data = _mutate(original, flips, cut)
    path = tmp_path / "mutated"
    path.write_bytes(data)
    if data == original:
        assert [entry.name for entry in Keystore.open(path, passphrase="pw").list()] == ["k"]
        return
    with pytest.raises(KeystoreError) as caught:
        Keystore.open(path, passphrase="pw")
    assert isinstance(caught.value, (KeystoreCorrupted, WrongPassphrase))


@FUZZ
@given(st.sampled_from(["p.bak", "s.bak"]), *MUTATIONS)
def test_mutated_backups_raise_only_backup_errors(tmp_path, samples, name, flips, cut):
    files, printed = samples
    data = _mutate(files[name], flips, cut)
    if data == files[name]:
        return
    path = tmp_path / "mutated.bak"
    path.write_bytes(data)
    target = tmp_path / "target"
    with pytest.raises((BackupError, WrongPassphrase)):
        Keystore.restore(path, target, passphrase="pw" if name == "p.bak" else None,
                         shares=printed[:2] if name == "s.bak" else None, use_keyring=True)
    assert not target.exists()
