"""The one small hierarchy of errors that core raises.

Every error carries a message a person can act on. The CLI maps them to exit codes
(``BadInput`` -> 2, everything else -> 1); the GUI shows ``str(error)`` in place.
"""

from __future__ import annotations


class PrismError(Exception):
    """Base of every error core raises on purpose."""

    #: short machine-readable reason, stable across releases (used by --json and tests)
    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class BadInput(PrismError):
    """Input that cannot be read or parsed: a truncated file, a wrong format, a bad hash."""

    code = "bad-input"


class Refused(PrismError):
    """A well-formed request that core will not carry out (policy, state, permissions)."""

    code = "refused"


class NotFound(Refused):
    code = "not-found"


class AlreadyExists(Refused):
    code = "already-exists"


# --- workspace -------------------------------------------------------------------------

class WorkspaceError(PrismError):
    code = "workspace"


class StoreCorrupted(WorkspaceError):
    code = "store-corrupted"


# --- keys ------------------------------------------------------------------------------

class KeystoreError(PrismError):
    code = "keystore"


class WrongPassphrase(KeystoreError):
    code = "wrong-passphrase"


class KeystoreLocked(KeystoreError):
    code = "keystore-locked"


class KeystoreCorrupted(KeystoreError, BadInput):
    code = "keystore-corrupted"


class UnknownKeyFormat(KeystoreError, BadInput):
    code = "unknown-key-format"


class UnsupportedKeyType(KeystoreError, BadInput):
    code = "unsupported-key-type"


class BackupError(KeystoreError, BadInput):
    code = "backup"


# --- certificate authority --------------------------------------------------------------

class CAError(PrismError):
    code = "ca"


class CANotInitialised(CAError, Refused):
    code = "ca-not-initialised"


# --- attestation -------------------------------------------------------------------------

class EvidenceError(BadInput):
    """Evidence bytes (report, quote, certificate, collateral, CBOR) that do not parse."""

    code = "bad-evidence"
