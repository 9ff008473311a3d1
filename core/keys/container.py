"""The sealed-file format shared by keystores and backups.

Layout (all lengths fixed except the header)::

    magic (8) | version (1) | header length (u32 BE) | header (canonical JSON)
    | key check (16) | body length (u32 BE) | SHA-256 of everything before it (32)
    | body: nonce (12) | AES-256-GCM ciphertext + tag

Everything before the nonce is the GCM associated data, so the header is authenticated.
The plain SHA-256 and the key-check value let the reader tell apart, in its message, a file
damaged on disk (checksum, lengths), a wrong key or passphrase (key check) and altered
ciphertext (tag).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import struct
from dataclasses import dataclass
from typing import Any, Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import KeystoreError
from core.keys.kdf import Subkeys, key_check_value

VERSION = 1
_PREFIX = struct.Struct(">8sBI")
_KEY_CHECK = 16
_BODY_LEN = 4
_CHECKSUM = 32
_TRAILER = _KEY_CHECK + _BODY_LEN + _CHECKSUM  # the fixed fields after the header
_NONCE = 12
_TAG = 16
MAX_HEADER = 64 * 1024

ErrorFactory = Callable[[str], KeystoreError]


@dataclass(frozen=True, slots=True)
class Sealed:
    """A parsed, not yet decrypted container."""

    header: dict[str, Any]
    header_bytes: bytes
    key_check: bytes
    associated_data: bytes  # everything before the nonce
    nonce: bytes
    ciphertext: bytes


def encode_header(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def seal(magic: bytes, header: dict[str, Any], keys: Subkeys, plaintext: bytes) -> bytes:
    """The complete file: a fresh random nonce on every call, so no (key, nonce) pair repeats."""
    header_bytes = encode_header(header)
    head = _PREFIX.pack(magic, VERSION, len(header_bytes)) + header_bytes
    head += key_check_value(keys.check, header_bytes)
    head += (_NONCE + len(plaintext) + _TAG).to_bytes(_BODY_LEN, "big")
    head += hashlib.sha256(head).digest()
    nonce = secrets.token_bytes(_NONCE)
    return head + nonce + AESGCM(keys.encryption).encrypt(nonce, plaintext, head)


def parse(magic: bytes, data: bytes, *, what: str, error: ErrorFactory) -> Sealed:
    """Split ``data`` into its parts, checking everything that needs no key."""
    header, header_bytes, end = _parse_head(magic, data, what=what, error=error)
    body = data[end:]
    expected = int.from_bytes(data[end - _CHECKSUM - _BODY_LEN:end - _CHECKSUM], "big")
    if len(body) < expected:
        raise error(f"the {what} file is truncated ({len(data)} of {end + expected} bytes); "
                    "restore it from a backup")
    if len(body) > expected:
        raise error(f"the {what} file has {len(body) - expected} unexpected bytes at its end; it is damaged")
    if expected < _NONCE + _TAG:
        raise error(f"the {what} file header gives an impossible length; the file is damaged")
    key_check = data[end - _TRAILER:end - _TRAILER + _KEY_CHECK]
    return Sealed(header, header_bytes, key_check, data[:end], body[:_NONCE], body[_NONCE:])


def read_header(magic: bytes, data: bytes, *, what: str, error: ErrorFactory) -> dict[str, Any]:
    """Only the header, from a prefix of the file that reaches at least past the checksum."""
    return _parse_head(magic, data, what=what, error=error)[0]


def head_length(data: bytes) -> int | None:
    """How many bytes ``read_header`` needs, known once the 13-byte prefix is read."""
    if len(data) < _PREFIX.size:
        return None
    return _PREFIX.size + min(_PREFIX.unpack_from(data)[2], MAX_HEADER + 1) + _TRAILER


def _parse_head(magic: bytes, data: bytes, *, what: str, error: ErrorFactory) -> tuple[dict[str, Any], bytes, int]:
    if len(data) < _PREFIX.size:
        raise error(f"the {what} file is truncated ({len(data)} bytes, not even a header); "
                    "restore it from a backup")
    found_magic, version, header_len = _PREFIX.unpack_from(data)
    if found_magic != magic:
        raise error(f"this is not a Prism {what} file (its first bytes are wrong); choose the right file")
    if version != VERSION:
        raise error(f"the {what} file has format version {version}, this Prism reads version {VERSION}; "
                    "it was written by a newer Prism or it is damaged")
    if header_len > MAX_HEADER:
        raise error(f"the {what} file header claims {header_len} bytes; the file is damaged")
    end = _PREFIX.size + header_len + _TRAILER
    if len(data) < end:
        raise error(f"the {what} file is truncated ({len(data)} of at least {end} bytes); "
                    "restore it from a backup")
    if not hmac.compare_digest(hashlib.sha256(data[:end - _CHECKSUM]).digest(), data[end - _CHECKSUM:end]):
        raise error(f"the {what} file header is damaged (checksum mismatch); restore it from a backup")
    header_bytes = data[_PREFIX.size:_PREFIX.size + header_len]
    try:
        header = json.loads(header_bytes.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        header = None
    if not isinstance(header, dict):
        raise error(f"the {what} file header is not valid; the file is damaged")
    return header, header_bytes, end


def unseal(sealed: Sealed, keys: Subkeys, *, what: str, error: ErrorFactory,
           wrong_key: Callable[[], KeystoreError]) -> bytes:
    """The plaintext; ``wrong_key()`` when the key does not match, ``error`` when data was altered."""
    expected = key_check_value(keys.check, sealed.header_bytes)
    if not hmac.compare_digest(expected, sealed.key_check):
        raise wrong_key()
    try:
        return AESGCM(keys.encryption).decrypt(sealed.nonce, sealed.ciphertext, sealed.associated_data)
    except InvalidTag:
        raise error(
            f"the encrypted part of the {what} file is damaged or was tampered with (authentication "
            "failed although the key is right); restore it from a backup"
        ) from None
