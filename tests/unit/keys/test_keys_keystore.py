"""The keystore file: round trips, refusals, corruption, atomic writes, events."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from core.errors import (AlreadyExists, BadInput, KeystoreCorrupted, KeystoreLocked, NotFound, Refused,
                         UnknownKeyFormat, WrongPassphrase)
from core.keys import container, fileio, formats
from core import fsio
from core.keys.keystore import KdfParams, KeyEntry, Keystore
from core.keys.signatures import verify_role_signature
from core.keys.types import KeyType
from tests.unit.keys.keys_support import VECTOR_SIGNATURES, key_of, pkcs8_pem, vector_key

FAST = KdfParams.FAST
PASS = "tr0ub4dor & 3"


@pytest.fixture
def events():
    return []


@pytest.fixture
def store(tmp_path, events):
    return Keystore.create(tmp_path / "keystore.prism", passphrase=PASS, kdf=FAST,
                           on_event=lambda *event: events.append(event))


def test_create_open_round_trip(tmp_path, store):
    generated = store.generate("alice", KeyType.ECDSA_P256, label="Alice's laptop")
    imported = store.import_key("vector", pkcs8_pem(vector_key()))
    added = store.add_private_key("ca-root", key_of(KeyType.ECDSA_P384), purpose="ca")
    reopened = Keystore.open(store.path, passphrase=PASS)
    assert reopened.list() == [generated, added, imported] == store.list()  # sorted by name
    assert reopened.get("alice").label == "Alice's laptop"
    assert reopened.get("ca-root").purpose == "ca"
    assert imported.fingerprint == formats.fingerprint(vector_key())
    assert imported.created_at.tzinfo is not None and imported.created_at.utcoffset().total_seconds() == 0
    assert formats.spki_der(reopened.private_key("alice")) == generated.public_der
    assert reopened.sign_role("vector", "consumer") == VECTOR_SIGNATURES["consumer"]


def test_entry_is_a_frozen_slotted_dataclass(store):
    entry = store.generate("k", "ed25519")
    assert isinstance(entry, KeyEntry) and not hasattr(entry, "__dict__")
    with pytest.raises(AttributeError):
        entry.name = "other"  # type: ignore[misc]


def test_file_is_owner_only_and_each_write_uses_a_fresh_nonce(store):
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    first = container.parse(b"PRISM-KS", store.path.read_bytes(), what="keystore", error=KeystoreCorrupted)
    store.generate("a", "ed25519")
    store.delete("a")
    second = container.parse(b"PRISM-KS", store.path.read_bytes(), what="keystore", error=KeystoreCorrupted)
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext  # same plaintext, different nonce
    assert not [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_mode_and_exists_read_only_the_header(tmp_path, store):
    assert Keystore.exists(store.path) and not Keystore.exists(tmp_path / "nope")
    assert Keystore.mode(store.path) == "passphrase" == store.mode
    with pytest.raises(NotFound):
        Keystore.mode(tmp_path / "nope")


def test_create_refuses_an_existing_file_and_bad_mode_choices(tmp_path, store):
    with pytest.raises(AlreadyExists, match="already exists"):
        Keystore.create(store.path, passphrase=PASS, kdf=FAST)
    with pytest.raises(BadInput, match="not both"):
        Keystore.create(tmp_path / "b", passphrase=PASS, use_keyring=True, kdf=FAST)
    with pytest.raises(BadInput, match="give a passphrase"):
        Keystore.create(tmp_path / "c", kdf=FAST)
    with pytest.raises(BadInput, match="non-empty"):
        Keystore.create(tmp_path / "d", passphrase="", kdf=FAST)
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def test_open_errors(tmp_path, store):
    with pytest.raises(WrongPassphrase, match="passphrase is wrong") as wrong:
        Keystore.open(store.path, passphrase="guess")
    assert wrong.value.code == "wrong-passphrase"
    with pytest.raises(KeystoreLocked, match="enter it to unlock"):
        Keystore.open(store.path)
    with pytest.raises(NotFound, match="no keystore file"):
        Keystore.open(tmp_path / "missing", passphrase=PASS)


def test_passphrase_is_unicode_normalised(tmp_path):
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    Keystore.create(tmp_path / "ks", passphrase=composed, kdf=FAST).close()
    assert Keystore.open(tmp_path / "ks", passphrase=decomposed).list() == []


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "slash/name", "ünïcode", "semi;colon"])
def test_bad_names(store, name):
    with pytest.raises(BadInput, match="not valid"):
        store.generate(name, "ed25519")


def test_name_rules_and_uniqueness(store):
    store.generate("A.b_c-9", "ed25519")
    store.generate("x" * 64, "ed25519")
    with pytest.raises(AlreadyExists, match="'A.b_c-9' already exists"):
        store.generate("A.b_c-9", "ecdsa-p256")
    with pytest.raises(AlreadyExists, match="already exists"):
        store.import_key("A.b_c-9", pkcs8_pem(vector_key()))


def test_import_refuses_the_same_key_twice(store):
    store.import_key("one", pkcs8_pem(vector_key()))
    with pytest.raises(AlreadyExists, match="already in the keystore as 'one'"):
        store.import_key("two", formats.cocos_cli_files(vector_key())[0])


def test_import_errors_leave_the_store_unchanged(store):
    with pytest.raises(UnknownKeyFormat):
        store.import_key("bad", b"not a key")
    with pytest.raises(WrongPassphrase):
        store.import_key("enc", formats.pkcs8_encrypted_pem(vector_key(), b"pw"))
    assert store.import_key("enc", formats.pkcs8_encrypted_pem(vector_key(), b"pw"), password=b"pw").name == "enc"
    assert [entry.name for entry in Keystore.open(store.path, passphrase=PASS).list()] == ["enc"]


def test_bad_purpose_label_and_type(store):
    with pytest.raises(BadInput, match="purpose 'signing'"):
        store.generate("k", "ed25519", purpose="signing")
    with pytest.raises(BadInput, match="label"):
        store.generate("k", "ed25519", label="x" * 201)
    with pytest.raises(BadInput, match="unknown key type"):
        store.generate("k", "rsa-1024")
    with pytest.raises(Exception, match="secp256k1"):
        store.add_private_key("k", ec.generate_private_key(ec.SECP256K1()))
    assert store.list() == []


def test_get_delete_and_not_found(store):
    store.generate("gone", "ed25519")
    store.delete("gone")
    for call in (lambda: store.get("gone"), lambda: store.delete("gone"),
                 lambda: store.private_key("gone"), lambda: store.sign_role("gone", "consumer"),
                 lambda: store.export_public("gone", "pem")):
        with pytest.raises(NotFound, match="no key named 'gone'"):
            call()
    assert Keystore.open(store.path, passphrase=PASS).list() == []


def test_export_public(store):
    entry = store.generate("k", "ecdsa-p256")
    assert store.export_public("k", "der-b64") == formats.public_der_b64(store.private_key("k"))
    assert store.export_public("k", "pem") == formats.public_pem(store.private_key("k"))
    assert entry.public_der == formats.spki_der(store.private_key("k"))
    with pytest.raises(BadInput, match="'pem' or 'der-b64'"):
        store.export_public("k", "jwk")


def test_export_private(store):
    store.import_key("v", pkcs8_pem(vector_key()))
    files = store.export_private("v", "pkcs8", passphrase=b"export pw")
    assert list(files) == ["key.pem"]
    assert formats.fingerprint(formats.load_private_key(files["key.pem"], b"export pw")) == store.get("v").fingerprint
    with pytest.raises(BadInput, match="needs a passphrase"):
        store.export_private("v", "pkcs8")
    with pytest.raises(Refused, match="confirm the plaintext") as refused:
        store.export_private("v", "cocos-cli")
    assert refused.value.code == "refused"
    files = store.export_private("v", "cocos-cli", confirm_plaintext=True)
    assert files == dict(zip(("private.pem", "public.pem"), formats.cocos_cli_files(vector_key())))
    with pytest.raises(BadInput, match="unknown private key format"):
        store.export_private("v", "pkcs12")


@pytest.mark.parametrize("kind", list(KeyType))
def test_sign_role_verifies_for_every_type(store, kind):
    entry = store.add_private_key("k", key_of(kind))
    for role in ("algorithm-provider", "data-provider", "consumer"):
        assert verify_role_signature(entry.public_der, role, base64.b64decode(store.sign_role("k", role)))
    with pytest.raises(BadInput, match="unknown participant role"):
        store.sign_role("k", "owner")


def test_events_are_emitted_after_each_change_without_secrets(store, events):
    store.generate("g", "ed25519")
    store.import_key("i", pkcs8_pem(vector_key()))
    store.export_public("g", "pem")
    store.export_private("i", "pkcs8", passphrase=b"export-secret-42")
    store.export_private("i", "cocos-cli", confirm_plaintext=True)
    store.sign_role("i", "consumer")
    store.delete("g")
    store.change_passphrase("new " + PASS)
    actions = [action for action, _, _ in events]
    assert actions == ["keystore.create", "key.generate", "key.import", "key.export-public",
                       "key.export-private", "key.export-private", "key.sign-role", "key.delete",
                       "keystore.change-passphrase"]
    assert events[2][1] == "i" and events[2][2]["fingerprint"] == formats.fingerprint(vector_key())
    assert events[4][2]["format"] == "pkcs8" and events[4][2]["encrypted"] is True
    flat = json.dumps([details for _, _, details in events])
    assert PASS not in flat and "export-secret-42" not in flat
    assert formats.cocos_cli_files(vector_key())[0].decode().splitlines()[1] not in flat


def test_failed_operations_emit_nothing(store, events):
    store.generate("k", "ed25519")
    count = len(events)
    with pytest.raises(AlreadyExists):
        store.generate("k", "ed25519")
    with pytest.raises(Refused):
        store.export_private("k", "cocos-cli")
    assert len(events) == count


def test_change_passphrase_to_a_new_passphrase(store):
    store.generate("k", "ed25519")
    store.change_passphrase("second")
    with pytest.raises(WrongPassphrase):
        Keystore.open(store.path, passphrase=PASS)
    reopened = Keystore.open(store.path, passphrase="second")
    assert reopened.list() == store.list()
    store.generate("after", "ed25519")  # the open store keeps working under the new key
    assert [e.name for e in Keystore.open(store.path, passphrase="second").list()] == ["after", "k"]
    with pytest.raises(BadInput):
        store.change_passphrase(None)


def test_close_wipes_and_locks(store):
    store.generate("k", "ed25519")
    record = store._records["k"]
    store.close()
    assert set(record.secret) == {0}
    with pytest.raises(KeystoreLocked, match="closed"):
        store.list()
    with pytest.raises(KeystoreLocked):
        store.generate("k2", "ed25519")
    with Keystore.open(store.path, passphrase=PASS) as again:
        assert [e.name for e in again.list()] == ["k"]
    with pytest.raises(KeystoreLocked):
        again.private_key("k")


# --- atomicity: a failed write loses nothing ------------------------------------------------------

def test_crash_in_the_middle_of_a_write_keeps_the_old_file(store, monkeypatch):
    store.generate("keep", "ed25519")
    before = store.path.read_bytes()

    def torn_write(fd, data):
        os.write(fd, bytes(data)[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsio, "write_all", torn_write)
    with pytest.raises(OSError, match="No space"):
        store.generate("lost", "ed25519")
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert [e.name for e in store.list()] == ["keep"]  # memory rolled back too
    assert not [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]
    assert [e.name for e in Keystore.open(store.path, passphrase=PASS).list()] == ["keep"]


def test_failed_rename_keeps_the_old_file(store, monkeypatch):
    store.generate("keep", "ed25519")
    before = store.path.read_bytes()
    monkeypatch.setattr(fsio.os, "replace", lambda *a: (_ for _ in ()).throw(PermissionError("denied")))
    with pytest.raises(PermissionError):
        store.delete("keep")
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert store.get("keep").name == "keep"


def test_duplicate_generate_changes_nothing(store):
    store.generate("k", "ed25519")
    before = store.path.read_bytes()
    with pytest.raises(AlreadyExists):
        store.generate("k", "ecdsa-p256")
    assert store.path.read_bytes() == before


def test_temp_file_is_created_owner_only_before_any_byte_is_written(store, monkeypatch):
    seen = []

    def spy(fd, data):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        os.write(fd, data)

    monkeypatch.setattr(fsio, "write_all", spy)
    store.generate("k", "ed25519")
    assert seen == [0o600]


# --- corruption ----------------------------------------------------------------------------------

def _corrupted(path, data: bytes) -> KeystoreCorrupted:
    path.write_bytes(data)
    with pytest.raises(KeystoreCorrupted) as caught:
        Keystore.open(path, passphrase=PASS)
    assert caught.value.code == "keystore-corrupted"
    return caught.value


def test_every_truncation_is_reported_as_truncated(store):
    store.generate("k", "ed25519")
    data = store.path.read_bytes()
    for size in [*range(0, 200), *range(200, len(data), 13), len(data) - 1]:
        assert "truncated" in str(_corrupted(store.path, data[:size])), size
    assert "unexpected bytes at its end" in str(_corrupted(store.path, data + b"\0"))


def test_flipped_bytes_are_told_apart(store):
    store.generate("k", "ed25519")
    data = store.path.read_bytes()
    header_len = int.from_bytes(data[9:13], "big")
    nonce_at = 13 + header_len + 16 + 4 + 32

    def flip(position: int) -> str:
        damaged = bytearray(data)
        damaged[position] ^= 0x40
        return str(_corrupted(store.path, bytes(damaged)))

    assert "not a Prism keystore" in flip(0)
    assert "format version" in flip(8)
    assert "header is damaged" in flip(20)
    assert "header is damaged" in flip(13 + header_len + 3)  # the key-check value
    assert "tampered" in flip(nonce_at)
    assert "tampered" in flip(len(data) - 1)  # the GCM tag
    # no flip anywhere opens, or is mistaken for a wrong passphrase
    for position in [*range(nonce_at + 12), *range(nonce_at + 12, len(data), 11)]:
        flip(position)


def _reforge(data: bytes, header: dict) -> bytes:
    """The file with a new header and a correct checksum, as a deliberate attacker would make it."""
    header_len = int.from_bytes(data[9:13], "big")
    forged = container.encode_header(header)
    head = struct.pack(">8sBI", b"PRISM-KS", 1, len(forged)) + forged
    head += data[13 + header_len:13 + header_len + 20]  # key check and body length, unchanged
    head += hashlib.sha256(head).digest()
    return head + data[13 + header_len + 52:]


def test_forged_header_with_a_recomputed_checksum_cannot_pass(store):
    """An attacker who rewrites the header and its checksum gets at best 'wrong passphrase'."""
    store.generate("k", "ed25519")
    data = store.path.read_bytes()
    header_len = int.from_bytes(data[9:13], "big")
    header = json.loads(data[13:13 + header_len])
    header["kdf"]["t"] = 2
    store.path.write_bytes(_reforge(data, header))
    with pytest.raises(WrongPassphrase):
        Keystore.open(store.path, passphrase=PASS)


def test_hostile_kdf_parameters_are_refused_before_deriving(store):
    data = store.path.read_bytes()
    header_len = int.from_bytes(data[9:13], "big")
    header = json.loads(data[13:13 + header_len])
    header["kdf"]["m"] = 64 * 1024 * 1024  # 64 GiB
    store.path.write_bytes(_reforge(data, header))
    with pytest.raises(KeystoreCorrupted, match="key-derivation settings are invalid"):
        Keystore.open(store.path, passphrase=PASS)


def test_a_directory_or_an_oversized_file_is_not_a_keystore(tmp_path, monkeypatch):
    with pytest.raises(NotFound, match="directory"):
        Keystore.open(tmp_path, passphrase=PASS)
    big = tmp_path / "big"
    big.write_bytes(b"PRISM-KS" + b"\0" * 100)
    monkeypatch.setattr(fileio, "MAX_FILE_BYTES", 50)
    with pytest.raises(KeystoreCorrupted, match="larger than"):
        Keystore.open(big, passphrase=PASS)


def test_kdf_params_bounds():
    assert KdfParams.DEFAULT.memory_kib >= 64 * 1024
    assert KdfParams.FAST == KdfParams(1, 8 * 1024, 1)
    for bad in ((0, 1024, 1), (1, 4, 1), (1, 1024, 0), (65, 1024, 1), (1, 5 * 1024 * 1024, 1)):
        with pytest.raises(BadInput, match="Argon2"):
            KdfParams(*bad)
