"""Errors specific to the keystore, refining the shared hierarchy in core/errors.py."""

from __future__ import annotations

from core.errors import KeystoreError


class KeyringUnavailable(KeystoreError):
    """No secure OS keyring to hold a master key (none installed, or only a plaintext one)."""

    code = "keyring-unavailable"


class KeyringSecretMissing(KeystoreError):
    """The OS keyring holds no (or a damaged) master key for this keystore."""

    code = "keyring-secret-missing"
