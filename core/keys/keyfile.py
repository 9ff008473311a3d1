"""The keystore file: its header, and sealing / unsealing the entries under a master key."""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import BadInput, KeystoreCorrupted, WrongPassphrase
from core.keys import container
from core.keys.fileio import read_bounded
from core.keys.kdf import SALT_BYTES, KdfParams, Subkeys, derive_master_key, subkeys
from core.keys.errors import KeyringSecretMissing

MAGIC = b"PRISM-KS"
WHAT = "keystore"
CONTEXT = b"prism-keystore/v1"
MODES = ("passphrase", "keyring")


@dataclass(frozen=True, slots=True)
class KeystoreHeader:
    """The clear, authenticated header: how to get the master key; no secret."""

    mode: str  # "passphrase" | "keyring"
    uuid: str
    kdf: KdfParams | None = None  # passphrase mode only
    salt: bytes | None = None  # passphrase mode only

    @classmethod
    def new(cls, mode: str, kdf: KdfParams) -> KeystoreHeader:
        return cls.fresh_secret(cls(mode=mode, uuid=str(uuid.uuid4())), mode, kdf)

    @staticmethod
    def fresh_secret(header: KeystoreHeader, mode: str, kdf: KdfParams) -> KeystoreHeader:
        """Same keystore id, new mode; a passphrase always gets a new salt."""
        if mode == "passphrase":
            return KeystoreHeader(mode, header.uuid, kdf, secrets.token_bytes(SALT_BYTES))
        return KeystoreHeader(mode, header.uuid)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"kind": "keystore", "mode": self.mode, "uuid": self.uuid,
                                    "cipher": "aes-256-gcm"}
        if self.mode == "passphrase":
            assert self.kdf is not None and self.salt is not None
            document.update(kdf_algorithm="argon2id", kdf=self.kdf.to_json(),
                            salt=base64.b64encode(self.salt).decode("ascii"))
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> KeystoreHeader:
        mode, ident = document.get("mode"), document.get("uuid")
        if document.get("kind") != "keystore" or mode not in MODES or document.get("cipher") != "aes-256-gcm":
            raise _corrupted("the keystore header does not describe a known keystore mode and cipher")
        try:
            ident = str(uuid.UUID(ident))
        except (TypeError, ValueError, AttributeError):
            raise _corrupted("the keystore header has no valid id") from None
        if mode == "keyring":
            return cls(mode, ident)
        if document.get("kdf_algorithm") != "argon2id":
            raise _corrupted("the keystore header names an unknown key derivation")
        try:
            kdf = KdfParams.from_json(document.get("kdf"))
            salt = base64.b64decode(document.get("salt", ""), validate=True)
        except (BadInput, binascii.Error, ValueError, TypeError) as exc:
            raise _corrupted(f"the keystore header's key-derivation settings are invalid ({exc})") from None
        if len(salt) != SALT_BYTES:
            raise _corrupted("the keystore header's salt has the wrong length")
        return cls(mode, ident, kdf, salt)


def _corrupted(message: str) -> KeystoreCorrupted:
    return KeystoreCorrupted(f"{message}; the file is damaged, restore it from a backup")


def subkeys_from_passphrase(header: KeystoreHeader, passphrase: str) -> Subkeys:
    assert header.kdf is not None and header.salt is not None
    return subkeys(derive_master_key(passphrase, header.salt, header.kdf), CONTEXT)


def subkeys_from_master(master: bytes) -> Subkeys:
    return subkeys(master, CONTEXT)


def seal(header: KeystoreHeader, keys: Subkeys, payload: bytes) -> bytes:
    return container.seal(MAGIC, header.to_json(), keys, payload)


def read(path: Path) -> tuple[KeystoreHeader, container.Sealed]:
    """The parsed file; ``NotFound`` when missing, ``KeystoreCorrupted`` when damaged."""
    data = read_bounded(path, what=WHAT, too_big=KeystoreCorrupted)
    sealed = container.parse(MAGIC, data, what=WHAT, error=KeystoreCorrupted)
    return KeystoreHeader.from_json(sealed.header), sealed


def read_header(path: Path) -> KeystoreHeader:
    """Only the header (the file's first few hundred bytes)."""
    prefix = read_bounded(path, what=WHAT, too_big=KeystoreCorrupted, prefix=13)
    needed = container.head_length(prefix)
    if needed is not None:
        prefix = read_bounded(path, what=WHAT, too_big=KeystoreCorrupted, prefix=needed)
    return KeystoreHeader.from_json(container.read_header(MAGIC, prefix, what=WHAT, error=KeystoreCorrupted))


def unseal(header: KeystoreHeader, sealed: container.Sealed, keys: Subkeys) -> bytes:
    def wrong_key() -> WrongPassphrase | KeyringSecretMissing:
        if header.mode == "passphrase":
            return WrongPassphrase("the passphrase is wrong for this keystore; check it and try again")
        return KeyringSecretMissing(
            "the master key in the OS keyring does not open this keystore (it belongs to another copy); "
            "restore from a backup"
        )
    return container.unseal(sealed, keys, what=WHAT, error=KeystoreCorrupted, wrong_key=wrong_key)
