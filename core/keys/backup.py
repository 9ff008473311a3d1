"""Keystore backups: one sealed file holding every key, opened by a passphrase or by k-of-n shares.

With shares, a random 32-byte backup secret seals the file and is split with Shamir's scheme,
so no single share (and no k-1 of them) reveals anything; the file itself carries no secret.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.errors import AlreadyExists, BackupError, BadInput, WrongPassphrase
from core.keys import container, shamir, shares
from core.keys.fileio import atomic_write, read_bounded
from core.keys.kdf import KEY_BYTES, SALT_BYTES, KdfParams, Subkeys, derive_master_key, subkeys

MAGIC = b"PRISM-BK"
WHAT = "backup"
CONTEXT = b"prism-backup/v1"


@dataclass(frozen=True, slots=True)
class BackupInfo:
    backup_id: str
    method: str  # "passphrase" | "shamir"
    keystore_kdf: KdfParams  # the Argon2 settings of the keystore that was backed up


def write_backup(out_path: Path, payload: bytes, *, keystore_kdf: KdfParams, passphrase: str | None,
                 share_count: int | None, threshold: int | None) -> tuple[BackupInfo, list[str]]:
    """Seal ``payload`` into ``out_path``; the printable shares (empty for a passphrase backup)."""
    if out_path.exists():
        raise AlreadyExists(f"{out_path} already exists; choose a new file name for the backup")
    backup_id = secrets.token_hex(8)
    header: dict[str, Any] = {
        "kind": "backup", "backup_id": backup_id, "cipher": "aes-256-gcm",
        "created_at": datetime.now(timezone.utc).isoformat(), "keystore_kdf": keystore_kdf.to_json(),
    }
    printed: list[str] = []
    if passphrase is not None and share_count is None and threshold is None:
        salt = secrets.token_bytes(SALT_BYTES)
        header.update(method="passphrase", kdf_algorithm="argon2id", kdf=keystore_kdf.to_json(),
                      salt=base64.b64encode(salt).decode("ascii"))
        keys = subkeys(derive_master_key(passphrase, salt, keystore_kdf), CONTEXT)
    elif passphrase is None and share_count is not None and threshold is not None:
        secret = secrets.token_bytes(KEY_BYTES)
        pieces = shamir.split(secret, threshold, share_count)
        header.update(method="shamir", threshold=threshold, shares=share_count)
        keys = subkeys(secret, CONTEXT)
        printed = [shares.encode(shares.Share(backup_id, threshold, share_count, x, y)) for x, y in pieces]
    else:
        raise BadInput("a backup needs either a passphrase, or a share count together with a threshold")
    atomic_write(out_path, container.seal(MAGIC, header, keys, payload))
    return BackupInfo(backup_id, header["method"], keystore_kdf), printed


def read_backup(path: Path, *, passphrase: str | None, share_texts: list[str] | None) -> tuple[bytes, BackupInfo]:
    """The payload and what the header says; ``BackupError`` / ``WrongPassphrase`` otherwise."""
    data = read_bounded(Path(path), what=WHAT, too_big=BackupError)
    sealed = container.parse(MAGIC, data, what=WHAT, error=BackupError)
    info = _info(sealed.header)
    if info.method == "passphrase":
        keys = _passphrase_keys(sealed.header, passphrase, share_texts)
        wrong = WrongPassphrase("the passphrase is wrong for this backup; check it and try again")
    else:
        keys = _share_keys(sealed.header, info, passphrase, share_texts)
        wrong = BackupError("the shares do not rebuild this backup's key: one of them was altered "
                            "although its checksum matches; try another combination of shares")
    payload = container.unseal(sealed, keys, what=WHAT, error=BackupError, wrong_key=lambda: wrong)
    return payload, info


def _info(header: dict[str, Any]) -> BackupInfo:
    backup_id, method = header.get("backup_id"), header.get("method")
    if (header.get("kind") != "backup" or method not in ("passphrase", "shamir")
            or header.get("cipher") != "aes-256-gcm" or not isinstance(backup_id, str)
            or re.fullmatch(r"[0-9a-f]{16}", backup_id) is None):
        raise BackupError("the backup header is not valid; the file is damaged")
    try:
        return BackupInfo(backup_id, method, KdfParams.from_json(header.get("keystore_kdf")))
    except BadInput as exc:
        raise BackupError(f"the backup header is not valid ({exc}); the file is damaged") from None


def _passphrase_keys(header: dict[str, Any], passphrase: str | None, share_texts: list[str] | None) -> Subkeys:
    if share_texts:
        raise BackupError("this backup is protected by a passphrase, not by shares; give its passphrase")
    if not passphrase:
        raise BackupError("this backup is protected by a passphrase; give the passphrase chosen when it was made")
    try:
        kdf = KdfParams.from_json(header.get("kdf"))
        salt = base64.b64decode(header.get("salt", ""), validate=True)
    except (BadInput, binascii.Error, ValueError, TypeError):
        raise BackupError("the backup header's key-derivation settings are damaged") from None
    if header.get("kdf_algorithm") != "argon2id" or len(salt) != SALT_BYTES:
        raise BackupError("the backup header's key-derivation settings are damaged")
    return subkeys(derive_master_key(passphrase, salt, kdf), CONTEXT)


def _share_keys(header: dict[str, Any], info: BackupInfo, passphrase: str | None,
                share_texts: list[str] | None) -> Subkeys:
    threshold, total = header.get("threshold"), header.get("shares")
    if not isinstance(threshold, int) or not isinstance(total, int) or not 2 <= threshold <= total <= 255:
        raise BackupError("the backup header's share settings are damaged")
    if not share_texts:
        hint = " (a passphrase was given, but this backup uses shares)" if passphrase else ""
        raise BackupError(f"this backup is opened by {threshold} of its {total} shares; give them{hint}")
    if isinstance(share_texts, str):
        raise BackupError("give the shares as a list of texts, one per share")
    points: dict[int, bytes] = {}
    for position, text in enumerate(share_texts, start=1):
        share = shares.parse(text, position)
        if share.backup_id != info.backup_id:
            raise BackupError(f"share #{position} belongs to another backup (id {share.backup_id}, this backup "
                              f"is {info.backup_id}); use shares printed for this backup")
        if (share.threshold, share.total) != (threshold, total):
            raise BackupError(f"share #{position} says {share.threshold} of {share.total}, but this backup "
                              f"needs {threshold} of {total}; it was altered")
        if points.get(share.index, share.value) != share.value:
            raise BackupError(f"two different shares claim index {share.index}; one of them was altered")
        points[share.index] = share.value
    if len(points) < threshold:
        raise BackupError(f"too few shares: {len(points)} distinct of the {threshold} needed; "
                          "gather more share holders")
    try:
        secret = shamir.combine(points.items())
    except BadInput as exc:
        raise BackupError(f"the shares do not fit together ({exc})") from None
    return subkeys(secret, CONTEXT)
