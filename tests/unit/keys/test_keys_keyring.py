"""Keyring mode: a random master key in the OS keyring, and refusal of insecure backends."""

from __future__ import annotations

import base64

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from core.errors import BadInput, KeystoreError, WrongPassphrase
from core.keys import keyring_store
from core.keys.errors import KeyringSecretMissing, KeyringUnavailable
from core.keys.keystore import KdfParams, Keystore, keyring_usable

FAST = KdfParams.FAST


class PlaintextKeyring(KeyringBackend):  # named like keyrings.alt's file backend
    priority = 1

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        raise AssertionError("a plaintext backend must never be written to")

    def delete_password(self, service, username):
        pass


def _secret_for(memory_keyring, store: Keystore) -> bytes:
    value = memory_keyring.secrets[("prism-desktop", f"keystore:{store._header.uuid}")]
    return base64.b64decode(value)


def test_keyring_mode_round_trip(tmp_path, memory_keyring):
    store = Keystore.create(tmp_path / "ks", use_keyring=True)
    assert store.mode == "keyring" == Keystore.mode(store.path)
    assert len(_secret_for(memory_keyring, store)) == 32
    entry = store.generate("k", "ed25519")
    reopened = Keystore.open(store.path)
    assert reopened.list() == [entry]
    assert Keystore.open(store.path, passphrase="ignored").get("k") == entry


def test_master_keys_are_random_per_keystore(tmp_path, memory_keyring):
    first = Keystore.create(tmp_path / "a", use_keyring=True)
    second = Keystore.create(tmp_path / "b", use_keyring=True)
    assert first._header.uuid != second._header.uuid
    assert _secret_for(memory_keyring, first) != _secret_for(memory_keyring, second)


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring(), PlaintextKeyring()])
def test_insecure_backends_are_refused(tmp_path, backend):
    keyring.set_keyring(backend)
    assert keyring_usable() is False
    with pytest.raises(KeyringUnavailable, match="use a passphrase|passphrase instead") as caught:
        Keystore.create(tmp_path / "ks", use_keyring=True)
    assert isinstance(caught.value, KeystoreError) and caught.value.code == "keyring-unavailable"
    assert not (tmp_path / "ks").exists()


def test_alt_module_backends_are_refused(monkeypatch):
    class Alt(PlaintextKeyring):
        pass

    Alt.__module__ = "keyrings.alt.file"
    Alt.__name__ = "EncryptedKeyring"
    keyring.set_keyring(Alt())
    assert keyring_usable() is False


def test_chainer_is_usable_only_if_every_chained_backend_is(monkeypatch, memory_keyring):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [memory_keyring])
    keyring.set_keyring(chainer.ChainerBackend())
    assert keyring_usable() is True
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [memory_keyring, PlaintextKeyring()])
    assert keyring_usable() is False
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    assert keyring_usable() is False


def test_the_test_keyring_is_usable():
    assert keyring_usable() is True


def test_opening_without_the_keyring_secret(tmp_path, memory_keyring):
    store = Keystore.create(tmp_path / "ks", use_keyring=True)
    memory_keyring.secrets.clear()
    with pytest.raises(KeyringSecretMissing, match="holds no master key") as caught:
        Keystore.open(store.path)
    assert caught.value.code == "keyring-secret-missing"
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(KeyringUnavailable):
        Keystore.open(store.path)


def test_a_wrong_or_damaged_keyring_secret(tmp_path, memory_keyring):
    store = Keystore.create(tmp_path / "ks", use_keyring=True)
    slot = ("prism-desktop", f"keystore:{store._header.uuid}")
    memory_keyring.secrets[slot] = base64.b64encode(bytes(32)).decode()
    with pytest.raises(KeyringSecretMissing, match="does not open this keystore"):
        Keystore.open(store.path)
    memory_keyring.secrets[slot] = "not base64!"
    with pytest.raises(KeyringSecretMissing, match="damaged"):
        Keystore.open(store.path)


def test_change_from_passphrase_to_keyring_and_back(tmp_path, memory_keyring):
    store = Keystore.create(tmp_path / "ks", passphrase="first", kdf=FAST)
    entry = store.generate("k", "ecdsa-p256")
    store.change_passphrase(None, use_keyring=True)
    assert Keystore.mode(store.path) == "keyring"
    assert Keystore.open(store.path).list() == [entry]
    uuid = store._header.uuid
    assert ("prism-desktop", f"keystore:{uuid}") in memory_keyring.secrets

    store.change_passphrase("second")
    assert Keystore.mode(store.path) == "passphrase"
    assert ("prism-desktop", f"keystore:{uuid}") not in memory_keyring.secrets  # master key removed
    assert Keystore.open(store.path, passphrase="second").list() == [entry]
    with pytest.raises(WrongPassphrase):
        Keystore.open(store.path, passphrase="first")
    with pytest.raises(BadInput, match="not both"):
        store.change_passphrase("third", use_keyring=True)


def test_renewing_the_keyring_master_key_restores_the_old_one_if_the_write_fails(tmp_path, memory_keyring,
                                                                                monkeypatch):
    store = Keystore.create(tmp_path / "ks", use_keyring=True)
    store.generate("k", "ed25519")
    slot = ("prism-desktop", f"keystore:{store._header.uuid}")
    before = memory_keyring.secrets[slot]
    monkeypatch.setattr("core.keys.keystore.atomic_write", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        store.change_passphrase(None, use_keyring=True)
    monkeypatch.undo()
    assert memory_keyring.secrets[slot] == before
    assert [e.name for e in Keystore.open(store.path).list()] == ["k"]


def test_a_failed_create_leaves_no_keyring_entry(tmp_path, memory_keyring, monkeypatch):
    monkeypatch.setattr("core.keys.keystore.atomic_write", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        Keystore.create(tmp_path / "ks", use_keyring=True)
    assert memory_keyring.secrets == {}


def test_keyring_write_errors_are_typed(tmp_path, memory_keyring, monkeypatch):
    from keyring.errors import PasswordSetError

    def refuse(*args):
        raise PasswordSetError("locked")

    monkeypatch.setattr(memory_keyring, "set_password", refuse)
    with pytest.raises(KeyringUnavailable, match="refused to store"):
        Keystore.create(tmp_path / "ks", use_keyring=True)
    assert keyring_store.SERVICE == "prism-desktop"


def test_restore_into_keyring_mode_is_refused_early_without_a_usable_keyring(tmp_path):
    store = Keystore.create(tmp_path / "ks", passphrase="pw", kdf=FAST)
    store.generate("k", "ed25519")
    store.backup(tmp_path / "b.bak", passphrase="pw")
    keyring.set_keyring(null.Keyring())
    with pytest.raises(KeyringUnavailable, match="no secure OS keyring"):
        Keystore.restore(tmp_path / "b.bak", tmp_path / "new", passphrase="pw", use_keyring=True)
    assert not (tmp_path / "new").exists()
    assert repr(store).endswith("(passphrase, 1 keys)>") and "pw" not in repr(store)
