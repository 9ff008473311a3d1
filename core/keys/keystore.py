"""The offline keystore: every private key of a workspace, encrypted at rest in one file.

The file is sealed with AES-256-GCM under a key derived from Argon2id(passphrase) or from a
random master key held by the OS keyring (see container.py for the layout). Every change
rewrites the whole file atomically, and the in-memory state changes only after the write
succeeded, so a failed operation loses nothing.
"""

from __future__ import annotations

import base64
import logging
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from cryptography.hazmat.primitives import serialization

from core.errors import AlreadyExists, BackupError, BadInput, KeystoreCorrupted, KeystoreLocked, NotFound, Refused
from core.keys import backup as backups
from core.keys import formats, keyfile, signatures
from core.keys.entries import (KeyEntry, Record, check_label, check_name, check_purpose, decode_payload,
                               encode_payload)
from core.keys.fileio import atomic_write
from core.keys.kdf import KEY_BYTES, KdfParams, Subkeys
from core.keys.keyfile import KeystoreHeader
from core.keys.keyring_store import (delete_master_key, keyring_usable, load_master_key, peek_master_key,
                                     require_usable, restore_stored_value, store_master_key)
from core.keys.types import KeyType, PrivateKey

__all__ = ["KdfParams", "KeyEntry", "Keystore", "keyring_usable"]

log = logging.getLogger(__name__)

EventSink = Callable[[str, str, dict], None]


def _choose_mode(passphrase: str | None, use_keyring: bool) -> str:
    if passphrase is not None and use_keyring:
        raise BadInput("choose either a passphrase or the OS keyring, not both")
    if passphrase is None and not use_keyring:
        raise BadInput("give a passphrase or choose the OS keyring to protect the keystore")
    if passphrase is not None and (not isinstance(passphrase, str) or not passphrase):
        raise BadInput("the passphrase must be non-empty text")
    return "keyring" if use_keyring else "passphrase"


def _secure(header: KeystoreHeader, passphrase: str | None) -> Subkeys:
    """Keys for a new header: Argon2id of the passphrase, or a fresh master key put in the keyring."""
    if header.mode == "passphrase":
        return keyfile.subkeys_from_passphrase(header, passphrase or "")
    master = secrets.token_bytes(KEY_BYTES)
    store_master_key(header.uuid, master)
    return keyfile.subkeys_from_master(master)


def _mode_of_file(path: str | Path) -> str:
    """"passphrase" or "keyring", from the header alone (no passphrase needed)."""
    return keyfile.read_header(Path(path)).mode


class _ModeAccessor:
    """``Keystore.mode(path)`` reads a file's mode; ``keystore.mode`` is an open keystore's."""

    def __get__(self, instance: Keystore | None, owner: type) -> Any:
        if instance is None:
            return _mode_of_file
        return instance._header.mode

    def __set__(self, instance: Keystore, value: object) -> None:
        raise AttributeError("the mode changes only through change_passphrase()")


class Keystore:
    """An unlocked keystore. Build it with ``create``, ``open`` or ``restore``, never directly."""

    mode = _ModeAccessor()

    def __init__(self, path: Path, header: KeystoreHeader, keys: Subkeys, records: dict[str, Record],
                 kdf: KdfParams, on_event: EventSink | None) -> None:
        self.path = path
        self._header = header
        self._keys: Subkeys | None = keys
        self._records = records
        self._kdf = kdf  # reused when a passphrase is set later and for passphrase backups
        self._on_event = on_event
        self._lock = threading.RLock()

    # --- life cycle ----------------------------------------------------------------------

    @staticmethod
    def exists(path: str | Path) -> bool:
        return Path(path).is_file()

    @classmethod
    def create(cls, path: str | Path, *, passphrase: str | None = None, use_keyring: bool = False,
               kdf: KdfParams = KdfParams.DEFAULT, on_event: EventSink | None = None) -> Keystore:
        """A new, empty keystore at ``path``; ``AlreadyExists`` if a file is there."""
        store = cls._new(Path(path), passphrase, use_keyring, kdf, {}, on_event)
        store._emit("keystore.create", str(store.path), {"mode": store.mode, "keystore_id": store._header.uuid})
        return store

    @classmethod
    def _new(cls, path: Path, passphrase: str | None, use_keyring: bool, kdf: KdfParams,
             records: dict[str, Record], on_event: EventSink | None) -> Keystore:
        if path.exists():
            raise AlreadyExists(f"a file already exists at {path}; open that keystore or choose another place")
        if not isinstance(kdf, KdfParams):
            raise BadInput("kdf must be a KdfParams (for example KdfParams.DEFAULT)")
        header = KeystoreHeader.new(_choose_mode(passphrase, use_keyring), kdf)
        keys = _secure(header, passphrase)
        store = cls(path, header, keys, {}, kdf, on_event)
        try:
            store._commit(records)
        except BaseException:
            if header.mode == "keyring":
                delete_master_key(header.uuid)
            raise
        return store

    @classmethod
    def open(cls, path: str | Path, *, passphrase: str | None = None,
             on_event: EventSink | None = None) -> Keystore:
        """Unlock the keystore at ``path`` (the passphrase is ignored for keyring keystores)."""
        path = Path(path)
        header, sealed = keyfile.read(path)
        if header.mode == "passphrase":
            if not passphrase:
                raise KeystoreLocked("this keystore is protected by a passphrase; enter it to unlock")
            keys = keyfile.subkeys_from_passphrase(header, passphrase)
        else:
            keys = keyfile.subkeys_from_master(load_master_key(header.uuid))
        plaintext = keyfile.unseal(header, sealed, keys)
        try:
            records = decode_payload(plaintext)
        except BadInput as exc:
            raise KeystoreCorrupted(f"the keystore decrypted but its content is damaged ({exc}); "
                                    "restore it from a backup") from None
        return cls(path, header, keys, records, header.kdf or KdfParams.DEFAULT, on_event)

    def close(self) -> None:
        """Forget every key: overwrite the private DER buffers and drop the cipher keys.

        Python may still hold copies made while decrypting or parsing; this is as far as the
        language allows without native code.
        """
        with self._lock:
            for record in self._records.values():
                record.wipe()
            self._records = {}
            self._keys = None

    def __repr__(self) -> str:
        state = "closed" if self._keys is None else f"{len(self._records)} keys"
        return f"<Keystore {self.path} ({self._header.mode}, {state})>"

    def __enter__(self) -> Keystore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------

    def list(self) -> list[KeyEntry]:
        with self._lock:
            self._require_open()
            return [self._records[name].entry for name in sorted(self._records)]

    def get(self, name: str) -> KeyEntry:
        with self._lock:
            return self._record(name).entry

    def private_key(self, name: str) -> PrivateKey:
        with self._lock:
            secret = bytes(self._record(name).secret)
        return serialization.load_der_private_key(secret, password=None)  # type: ignore[return-value]

    # --- changing ------------------------------------------------------------------------

    def generate(self, name: str, key_type: KeyType | str, *, label: str = "",
                 purpose: str = "participant") -> KeyEntry:
        with self._lock:
            self._require_free(name)
            check_label(label)
            check_purpose(purpose)
            key = formats.generate_private_key(key_type)  # type: ignore[arg-type]
            entry = self._add(name, key, label, purpose)
        self._emit("key.generate", name, self._describe(entry))
        return entry

    def import_key(self, name: str, data: bytes, *, password: bytes | None = None, label: str = "") -> KeyEntry:
        with self._lock:
            self._require_free(name)
            check_label(label)
            key = formats.load_private_key(data, password)
            fingerprint = formats.fingerprint(key)
            for record in self._records.values():
                if record.entry.fingerprint == fingerprint:
                    raise AlreadyExists(f"this key is already in the keystore as '{record.entry.name}'")
            entry = self._add(name, key, label, "participant")
        self._emit("key.import", name, self._describe(entry, source="file"))
        return entry

    def add_private_key(self, name: str, key: PrivateKey, *, purpose: str = "participant",
                        label: str = "") -> KeyEntry:
        with self._lock:
            self._require_free(name)
            check_label(label)
            check_purpose(purpose)
            entry = self._add(name, key, label, purpose)
        self._emit("key.import", name, self._describe(entry, source="in-memory"))
        return entry

    def delete(self, name: str, *, allow_ca: bool = False) -> None:
        """Remove a key for good. The CA's key is refused unless ``allow_ca`` (its CA is gone or unborn)."""
        with self._lock:
            record = self._record(name)
            if record.entry.purpose == "ca" and not allow_ca:
                raise Refused(
                    f"'{name}' is the signing key of this workspace's certificate authority; without it the CA "
                    "can never sign or publish a CRL again. To retire the CA, delete the whole workspace (back "
                    "its keystore up first if you may need the key)", code="ca-key-protected")
            remaining = {key: value for key, value in self._records.items() if key != name}
            self._commit(remaining)
            record.wipe()
        self._emit("key.delete", name, self._describe(record.entry))

    def change_passphrase(self, new_passphrase: str | None, *, use_keyring: bool = False) -> None:
        """Re-seal under a new passphrase, or move to (or renew) a keyring master key."""
        with self._lock:
            self._require_open()
            mode = _choose_mode(new_passphrase, use_keyring)
            old = self._header
            previous = peek_master_key(old.uuid) if old.mode == "keyring" else None
            header = KeystoreHeader.fresh_secret(old, mode, self._kdf)
            keys = _secure(header, new_passphrase)
            try:
                self._commit(self._records, header, keys)
            except BaseException:
                if mode == "keyring":
                    restore_stored_value(old.uuid, previous)
                raise
            if old.mode == "keyring" and mode == "passphrase":
                delete_master_key(old.uuid)
        self._emit("keystore.change-passphrase", str(self.path), {"mode": mode, "previous_mode": old.mode})

    # --- using and exporting -------------------------------------------------------------

    def export_public(self, name: str, fmt: str) -> str:
        with self._lock:
            entry = self._record(name).entry
        if fmt == "pem":
            text = formats.public_pem(serialization.load_der_public_key(entry.public_der))  # type: ignore[arg-type]
        elif fmt == "der-b64":
            text = base64.b64encode(entry.public_der).decode("ascii")
        else:
            raise BadInput(f"unknown public key format {fmt!r}; choose 'pem' or 'der-b64'")
        self._emit("key.export-public", name, self._describe(entry, format=fmt))
        return text

    def export_private(self, name: str, fmt: str, *, passphrase: bytes | None = None,
                       confirm_plaintext: bool = False) -> dict[str, bytes]:
        """Files to write: ``{"key.pem"}`` encrypted, or cocos-cli's plaintext pair on confirmation."""
        if fmt == "pkcs8":
            if not passphrase:
                raise BadInput("an encrypted PKCS#8 export needs a passphrase for the exported file")
        elif fmt == "cocos-cli":
            if not confirm_plaintext:
                raise Refused("cocos-cli key files hold the private key unencrypted; confirm the plaintext "
                              "export explicitly, or export encrypted PKCS#8 instead")
        else:
            raise BadInput(f"unknown private key format {fmt!r}; choose 'pkcs8' or 'cocos-cli'")
        key = self.private_key(name)
        if fmt == "pkcs8":
            files = {"key.pem": formats.pkcs8_encrypted_pem(key, passphrase)}  # type: ignore[arg-type]
        else:
            private_pem, public_pem = formats.cocos_cli_files(key)
            files = {"private.pem": private_pem, "public.pem": public_pem}
        entry = self.get(name)
        self._emit("key.export-private", name, self._describe(entry, format=fmt, encrypted=fmt == "pkcs8"))
        return files

    def sign_role(self, name: str, role: str) -> str:
        """The base64 ``signature`` metadata for ``role`` with key ``name`` (a participant key only)."""
        purpose = self.get(name).purpose
        if purpose != "participant":
            raise Refused(f"'{name}' is a {purpose.upper()} key, kept for the local CA; sign roles with a "
                          "participant key (generate or import one)", code="not-a-participant-key")
        signature = signatures.role_signature_b64(self.private_key(name), role)
        self._emit("key.sign-role", name, self._describe(self.get(name), role=role))
        return signature

    # --- backups -------------------------------------------------------------------------

    def backup(self, out_path: str | Path, *, passphrase: str | None = None, shares: int | None = None,
               threshold: int | None = None) -> list[str]:
        """Write every key to one sealed file; the printable shares, or [] with a passphrase."""
        with self._lock:
            self._require_open()
            if passphrase is not None and (not isinstance(passphrase, str) or not passphrase):
                raise BadInput("the backup passphrase must be non-empty text")
            payload = encode_payload(self._records)
            count = len(self._records)
        info, printed = backups.write_backup(Path(out_path), payload, keystore_kdf=self._kdf,
                                             passphrase=passphrase, share_count=shares, threshold=threshold)
        details: dict[str, Any] = {"backup_id": info.backup_id, "method": info.method, "keys": count}
        if info.method == "shamir":
            details.update(threshold=threshold, shares=shares)
        self._emit("keystore.backup", str(out_path), details)
        return printed

    @classmethod
    def restore(cls, backup_path: str | Path, target_path: str | Path, *, passphrase: str | None = None,
                shares: list[str] | None = None, new_passphrase: str | None = None, use_keyring: bool = False,
                on_event: EventSink | None = None) -> Keystore:
        """A new keystore at ``target_path`` holding every key of the backup."""
        target = Path(target_path)
        if target.exists():
            raise AlreadyExists(f"a file already exists at {target}; restore to a new place")
        if _choose_mode(new_passphrase, use_keyring) == "keyring":  # fail before the slow decryption
            require_usable()
        payload, info = backups.read_backup(Path(backup_path), passphrase=passphrase, share_texts=shares)
        try:
            records = decode_payload(payload)
        except BadInput as exc:
            raise BackupError(f"the backup decrypted but its content is damaged ({exc})") from None
        store = cls._new(target, new_passphrase, use_keyring, info.keystore_kdf, records, on_event)
        store._emit("keystore.restore", str(target), {"backup_id": info.backup_id, "method": info.method,
                                                      "keys": len(records), "mode": store.mode})
        for entry in store.list():  # one event per key, so the log can account for every key it holds
            store._emit("key.restore", entry.name, store._describe(entry, backup_id=info.backup_id))
        return store

    # --- internals -----------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._keys is None:
            raise KeystoreLocked("the keystore is closed; open it again")

    def _record(self, name: str) -> Record:
        self._require_open()
        record = self._records.get(name)
        if record is None:
            raise NotFound(f"there is no key named '{name}' in the keystore")
        return record

    def _require_free(self, name: str) -> None:
        self._require_open()
        check_name(name)
        if name in self._records:
            raise AlreadyExists(f"a key named '{name}' already exists; choose another name")

    def _add(self, name: str, key: PrivateKey, label: str, purpose: str) -> KeyEntry:
        entry = KeyEntry(name=name, key_type=formats.key_type_of(key), fingerprint=formats.fingerprint(key),
                         created_at=datetime.now(timezone.utc), public_der=formats.spki_der(key),
                         label=label, purpose=purpose)
        records = dict(self._records)
        records[name] = Record(entry, bytearray(formats.pkcs8_der(key)))
        self._commit(records)
        return entry

    def _commit(self, records: dict[str, Record], header: KeystoreHeader | None = None,
                keys: Subkeys | None = None) -> None:
        """Write the file with a fresh nonce, then (only then) adopt the new state."""
        header = header or self._header
        keys = keys or self._keys
        assert keys is not None
        atomic_write(self.path, keyfile.seal(header, keys, encode_payload(records)))
        self._records, self._header, self._keys = records, header, keys

    @staticmethod
    def _describe(entry: KeyEntry, **extra: Any) -> dict[str, Any]:
        return {"fingerprint": entry.fingerprint, "key_type": entry.key_type.value, **extra}

    def _emit(self, action: str, subject: str, details: dict[str, Any]) -> None:
        # Runs after the change is on disk; an audit sink that fails is reported to the caller.
        if self._on_event is not None:
            self._on_event(action, subject, details)
