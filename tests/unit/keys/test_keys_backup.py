"""Backups: passphrase-sealed or opened by k-of-n printable shares."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import AlreadyExists, BackupError, BadInput, WrongPassphrase
from core.keys import shares as share_codec
from core.keys.keystore import KdfParams, Keystore
from core.keys.types import KeyType
from tests.unit.keys.keys_support import key_of, pkcs8_pem, vector_key

FAST = KdfParams.FAST


@pytest.fixture
def events():
    return []


@pytest.fixture
def store(tmp_path, events):
    ks = Keystore.create(tmp_path / "ks", passphrase="keystore pw", kdf=FAST,
                         on_event=lambda *event: events.append(event))
    ks.import_key("vector", pkcs8_pem(vector_key()))
    ks.add_private_key("ca", key_of(KeyType.ECDSA_P384), purpose="ca", label="local CA")
    ks.generate("tls", "ecdsa-p256", purpose="tls")
    return ks


def _names(ks: Keystore) -> list[str]:
    return [entry.name for entry in ks.list()]


def test_passphrase_backup_round_trip(tmp_path, store, events):
    assert store.backup(tmp_path / "b.bak", passphrase="backup pw") == []
    restored = Keystore.restore(tmp_path / "b.bak", tmp_path / "new", passphrase="backup pw",
                                new_passphrase="fresh", on_event=lambda *e: events.append(e))
    assert restored.list() == store.list()
    assert restored.private_key("vector").public_key().public_bytes_raw() == vector_key().public_key().public_bytes_raw()
    assert Keystore.open(tmp_path / "new", passphrase="fresh").list() == store.list()
    assert restored._header.uuid != store._header.uuid
    backup_event = [e for e in events if e[0] == "keystore.backup"][0]
    assert backup_event[2]["method"] == "passphrase" and backup_event[2]["keys"] == 3
    restore_at = [e[0] for e in events].index("keystore.restore")
    assert events[restore_at][2]["keys"] == 3
    # then one event per restored key, so the workspace log accounts for every key it now holds
    per_key = events[restore_at + 1:]
    assert [(e[0], e[1], e[2]["fingerprint"]) for e in per_key] == [
        ("key.restore", entry.name, entry.fingerprint) for entry in store.list()]
    assert all(e[2]["backup_id"] == events[restore_at][2]["backup_id"] for e in per_key)


def test_restore_keeps_the_kdf_strength_of_the_backed_up_keystore(tmp_path, store):
    store.backup(tmp_path / "b.bak", passphrase="pw")
    restored = Keystore.restore(tmp_path / "b.bak", tmp_path / "new", passphrase="pw", new_passphrase="x")
    assert restored._header.kdf == FAST


def test_passphrase_backup_refusals(tmp_path, store):
    store.backup(tmp_path / "b.bak", passphrase="backup pw")
    with pytest.raises(WrongPassphrase, match="wrong for this backup"):
        Keystore.restore(tmp_path / "b.bak", tmp_path / "new", passphrase="nope", new_passphrase="x")
    with pytest.raises(BackupError, match="give the passphrase"):
        Keystore.restore(tmp_path / "b.bak", tmp_path / "new", new_passphrase="x")
    with pytest.raises(AlreadyExists):
        store.backup(tmp_path / "b.bak", passphrase="again")
    with pytest.raises(AlreadyExists):
        Keystore.restore(tmp_path / "b.bak", store.path, passphrase="backup pw", new_passphrase="x")
    with pytest.raises(BadInput, match="either a passphrase"):
        store.backup(tmp_path / "c.bak")
    with pytest.raises(BadInput, match="either a passphrase"):
        store.backup(tmp_path / "c.bak", passphrase="pw", shares=3, threshold=2)
    with pytest.raises(BadInput, match="either a passphrase"):
        store.backup(tmp_path / "c.bak", shares=3)
    with pytest.raises(BadInput, match="not both"):
        Keystore.restore(tmp_path / "b.bak", tmp_path / "n2", passphrase="backup pw", new_passphrase="x",
                         use_keyring=True)
    assert not (tmp_path / "new").exists() and not (tmp_path / "c.bak").exists()


@pytest.mark.parametrize("threshold, count", [(2, 3), (3, 5)])
def test_every_k_subset_of_shares_restores(tmp_path, store, threshold, count):
    printed = store.backup(tmp_path / "s.bak", shares=count, threshold=threshold)
    assert len(printed) == count and len(set(printed)) == count
    for i, subset in enumerate(itertools.combinations(printed, threshold)):
        restored = Keystore.restore(tmp_path / "s.bak", tmp_path / f"r{i}", shares=list(subset), use_keyring=True)
        assert restored.list() == store.list()
    for subset in itertools.combinations(printed, threshold - 1):
        with pytest.raises(BackupError, match=f"too few shares: {threshold - 1} distinct of the {threshold}"):
            Keystore.restore(tmp_path / "s.bak", tmp_path / "fail", shares=list(subset), use_keyring=True)


def test_shares_are_self_describing(tmp_path, store):
    printed = store.backup(tmp_path / "s.bak", shares=5, threshold=3)
    pattern = re.compile(r"PRISM-SHARE1-([0-9A-F]{16})-3OF5-([1-5])-[A-Z2-7]{52}-[0-9A-F]{8}")
    ids = set()
    for index, text in enumerate(printed, start=1):
        match = pattern.fullmatch(text)
        assert match and int(match.group(2)) == index
        ids.add(match.group(1))
    assert len(ids) == 1
    parsed = share_codec.parse(printed[0].lower().replace("-", "- ", 3))  # case and spaces do not matter
    assert (parsed.threshold, parsed.total, parsed.index) == (3, 5, 1)
    assert "value" not in repr(parsed) and parsed.value.hex() not in repr(parsed)


def test_a_mistyped_share_is_detected(tmp_path, store):
    printed = store.backup(tmp_path / "s.bak", shares=3, threshold=2)
    value_at = printed[1].rindex("-") - 5
    replacement = "A" if printed[1][value_at] != "A" else "B"
    typo = printed[1][:value_at] + replacement + printed[1][value_at + 1:]
    with pytest.raises(BackupError, match="share #2 has a typo"):
        Keystore.restore(tmp_path / "s.bak", tmp_path / "new", shares=[printed[0], typo], use_keyring=True)


def test_an_altered_share_with_a_recomputed_checksum_is_detected(tmp_path, store):
    printed = store.backup(tmp_path / "s.bak", shares=3, threshold=2)
    share = share_codec.parse(printed[1])
    forged = share_codec.encode(share_codec.Share(share.backup_id, 2, 3, share.index,
                                                  bytes([share.value[0] ^ 1]) + share.value[1:]))
    with pytest.raises(BackupError, match="do not rebuild this backup's key"):
        Keystore.restore(tmp_path / "s.bak", tmp_path / "new", shares=[printed[0], forged], use_keyring=True)
    relabelled = share_codec.encode(share_codec.Share(share.backup_id, 3, 3, share.index, share.value))
    with pytest.raises(BackupError, match="says 3 of 3, but this backup needs 2 of 3"):
        Keystore.restore(tmp_path / "s.bak", tmp_path / "new", shares=[printed[0], relabelled], use_keyring=True)


def test_shares_from_another_backup_are_refused(tmp_path, store):
    first = store.backup(tmp_path / "one.bak", shares=3, threshold=2)
    second = store.backup(tmp_path / "two.bak", shares=3, threshold=2)
    with pytest.raises(BackupError, match="share #2 belongs to another backup"):
        Keystore.restore(tmp_path / "one.bak", tmp_path / "new", shares=[first[0], second[1]], use_keyring=True)


def test_share_misuse(tmp_path, store):
    printed = store.backup(tmp_path / "s.bak", shares=3, threshold=2)
    with pytest.raises(BackupError, match="too few shares: 1 distinct"):
        Keystore.restore(tmp_path / "s.bak", tmp_path / "n", shares=[printed[0], printed[0]], use_keyring=True)
    with pytest.raises(BackupError, match="opened by 2 of its 3 shares"):
        Keystore.restore(tmp_path / "s.bak", tmp_path / "n", passphrase="pw", use_keyring=True)
    with pytest.raises(BackupError, match="not a Prism backup share"):
        Keystore.restore(tmp_path / "s.bak", tmp_path / "n", shares=["hello", printed[0]], use_keyring=True)
    store.backup(tmp_path / "p.bak", passphrase="pw")
    with pytest.raises(BackupError, match="not by shares"):
        Keystore.restore(tmp_path / "p.bak", tmp_path / "n", shares=printed[:2], use_keyring=True)
    with pytest.raises(BadInput, match="threshold"):
        store.backup(tmp_path / "bad.bak", shares=2, threshold=3)
    with pytest.raises(BadInput, match="threshold"):
        store.backup(tmp_path / "bad.bak", shares=256, threshold=2)
    assert not (tmp_path / "n").exists() and not (tmp_path / "bad.bak").exists()


def test_corrupted_backup_files(tmp_path, store):
    store.backup(tmp_path / "p.bak", passphrase="pw")
    data = (tmp_path / "p.bak").read_bytes()
    cases = {
        "truncated": data[: len(data) - 10],
        "not a Prism backup": b"PRISM-KS" + data[8:],
        "header is damaged": data[:30] + bytes([data[30] ^ 1]) + data[31:],
        "tampered": data[:-1] + bytes([data[-1] ^ 1]),
    }
    for reason, damaged in cases.items():
        (tmp_path / "bad.bak").write_bytes(damaged)
        with pytest.raises(BackupError, match=reason) as caught:
            Keystore.restore(tmp_path / "bad.bak", tmp_path / "new", passphrase="pw", new_passphrase="x")
        assert caught.value.code == "backup"
    assert not (tmp_path / "new").exists()
    with pytest.raises(BackupError, match="not a Prism backup"):
        Keystore.restore(store.path, tmp_path / "new", passphrase="keystore pw", new_passphrase="x")


def test_a_keystore_is_not_mistaken_for_a_backup(tmp_path, store):
    from core.errors import KeystoreCorrupted
    store.backup(tmp_path / "p.bak", passphrase="pw")
    with pytest.raises(KeystoreCorrupted, match="not a Prism keystore"):
        Keystore.open(tmp_path / "p.bak", passphrase="pw")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=160))
def test_fuzz_share_parser_raises_only_backup_errors(text):
    try:
        share = share_codec.parse(text)
    except BackupError:
        return
    assert 2 <= share.threshold <= share.total


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 120), st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567-0189 ")),
                min_size=1, max_size=3))
def test_fuzz_mutated_shares_are_caught(edits):
    valid = share_codec.encode(share_codec.Share("0123456789abcdef", 2, 3, 1, bytes(range(32))))
    text = list(valid)
    for position, char in edits:
        text[position % len(text)] = char
    mutated = "".join(text)
    try:
        parsed = share_codec.parse(mutated)
    except BackupError:
        return
    # a mutation that parses must be invisible (same text up to case) or has beaten a 32-bit checksum
    assert share_codec.encode(parsed) == valid
