"""Master keys held by the OS keyring (service "prism-desktop", user "keystore:<uuid>")."""

from __future__ import annotations

import base64
import binascii
import logging

import keyring
from keyring.backends.chainer import ChainerBackend
from keyring.errors import KeyringError

from core.keys.errors import KeyringSecretMissing, KeyringUnavailable
from core.keys.kdf import KEY_BYTES

log = logging.getLogger(__name__)

SERVICE = "prism-desktop"
# Backends that would keep the master key next to the keystore or nowhere at all.
_REFUSED_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def username_for(keystore_uuid: str) -> str:
    return f"keystore:{keystore_uuid}"


def keyring_usable() -> bool:
    """Whether the active keyring backend may hold a master key (for the GUI and CLI to ask)."""
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration raises anything at all
        log.warning("the keyring backend could not be loaded", exc_info=True)
        return False
    return _acceptable(backend)


def _acceptable(backend: object) -> bool:
    if isinstance(backend, ChainerBackend):
        # the chainer falls through to later backends, so every one of them must be acceptable
        chained = list(backend.backends)
        return bool(chained) and all(_acceptable(item) for item in chained)
    cls = type(backend)
    if cls.__module__.startswith(_REFUSED_MODULES):
        return False
    return "plaintext" not in cls.__name__.lower()


def require_usable() -> None:
    """``KeyringUnavailable`` unless ``keyring_usable()``."""
    if not keyring_usable():
        raise KeyringUnavailable(
            "no secure OS keyring is available (none installed, or only a plaintext file backend); "
            "protect the keystore with a passphrase instead"
        )


def store_master_key(keystore_uuid: str, master: bytes) -> None:
    require_usable()
    try:
        keyring.set_password(SERVICE, username_for(keystore_uuid), base64.b64encode(master).decode("ascii"))
    except (KeyringError, OSError) as exc:
        raise KeyringUnavailable(f"the OS keyring refused to store the master key ({exc}); "
                                 "unlock the keyring or use a passphrase instead") from None


def load_master_key(keystore_uuid: str) -> bytes:
    require_usable()
    try:
        stored = keyring.get_password(SERVICE, username_for(keystore_uuid))
    except (KeyringError, OSError) as exc:
        raise KeyringUnavailable(f"the OS keyring could not be read ({exc}); unlock it and try again") from None
    if stored is None:
        raise KeyringSecretMissing(
            f"the OS keyring holds no master key for this keystore ({SERVICE} / "
            f"{username_for(keystore_uuid)}); it may belong to another user or machine. Restore from a backup"
        )
    try:
        master = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        master = b""
    if len(master) != KEY_BYTES:
        raise KeyringSecretMissing("the master key in the OS keyring is damaged; restore from a backup")
    return master


def peek_master_key(keystore_uuid: str) -> str | None:
    """The stored value as is (to put it back if a later step fails), or None."""
    try:
        return keyring.get_password(SERVICE, username_for(keystore_uuid))
    except (KeyringError, OSError):
        return None


def restore_stored_value(keystore_uuid: str, value: str | None) -> None:
    """Undo a ``store_master_key``: put back ``value`` or remove the entry."""
    if value is None:
        delete_master_key(keystore_uuid)
        return
    try:
        keyring.set_password(SERVICE, username_for(keystore_uuid), value)
    except (KeyringError, OSError):
        log.error("could not put back the previous keyring entry for keystore %s", keystore_uuid)


def delete_master_key(keystore_uuid: str) -> bool:
    """Best effort: a leftover entry only opens stale copies of the file, so failures are logged.

    True when the keyring accepted the removal.
    """
    try:
        keyring.delete_password(SERVICE, username_for(keystore_uuid))
    except (KeyringError, OSError):
        log.warning("could not remove the keyring entry for keystore %s", keystore_uuid)
        return False
    return True
