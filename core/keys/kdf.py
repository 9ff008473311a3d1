"""Argon2id key derivation for keystores and backups, and the subkeys derived from a master key."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from typing import ClassVar

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import BadInput

KEY_BYTES = 32
SALT_BYTES = 16

# Bounds on parameters read from a file: the file is authenticated only after the key is
# derived, so a forged header must not be able to make Argon2 allocate or spin without limit.
_MAX_TIME_COST = 64
_MAX_MEMORY_KIB = 4 * 1024 * 1024  # 4 GiB
_MAX_PARALLELISM = 16


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters (RFC 9106 names: t, m in KiB, p)."""

    time_cost: int
    memory_kib: int
    parallelism: int

    # DEFAULT: t=2, m=256 MiB, p=1. On the 2-core reference box one derivation takes about
    # 0.5 s idle (bench/bench_keystore.py), inside the 0.3-0.6 s unlock budget. Memory is what
    # makes each guess expensive on GPUs, so it gets the budget: 256 MiB is 4x RFC 9106's
    # low-memory option (t=3, 64 MiB). p=1 because two lanes were measured to slow down 3-6x
    # on a busy 2-core machine (the lanes wait for each other at every sync point), while one
    # lane degrades only with its share of the CPU; unlocking stays predictable.
    DEFAULT: ClassVar[KdfParams]
    # FAST: for tests only; never offered to users.
    FAST: ClassVar[KdfParams]

    def __post_init__(self) -> None:
        for name in ("time_cost", "memory_kib", "parallelism"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise BadInput(f"Argon2 parameter {name} must be an integer, got {value!r}")
        if not 1 <= self.time_cost <= _MAX_TIME_COST:
            raise BadInput(f"Argon2 time cost {self.time_cost} is outside 1..{_MAX_TIME_COST}")
        if not 1 <= self.parallelism <= _MAX_PARALLELISM:
            raise BadInput(f"Argon2 parallelism {self.parallelism} is outside 1..{_MAX_PARALLELISM}")
        if not 8 * self.parallelism <= self.memory_kib <= _MAX_MEMORY_KIB:
            raise BadInput(
                f"Argon2 memory {self.memory_kib} KiB is outside {8 * self.parallelism}..{_MAX_MEMORY_KIB} KiB"
            )

    def to_json(self) -> dict[str, int]:
        return {"t": self.time_cost, "m": self.memory_kib, "p": self.parallelism}

    @classmethod
    def from_json(cls, value: object) -> KdfParams:
        """Parameters read from a file; ``BadInput`` when they are missing or out of bounds."""
        if not isinstance(value, dict) or set(value) != {"t", "m", "p"}:
            raise BadInput("the Argon2 parameters are missing or malformed")
        return cls(time_cost=value["t"], memory_kib=value["m"], parallelism=value["p"])


KdfParams.DEFAULT = KdfParams(time_cost=2, memory_kib=256 * 1024, parallelism=1)
KdfParams.FAST = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)


def normalise_passphrase(passphrase: str) -> bytes:
    """UTF-8 of the NFC form, so the same passphrase typed on another OS still unlocks."""
    if not isinstance(passphrase, str) or not passphrase:
        raise BadInput("the passphrase must be a non-empty string")
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def derive_master_key(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """Argon2id(passphrase, salt) -> 32-byte master key."""
    return hash_secret_raw(
        secret=normalise_passphrase(passphrase), salt=salt, time_cost=params.time_cost,
        memory_cost=params.memory_kib, parallelism=params.parallelism, hash_len=KEY_BYTES, type=Type.ID,
    )


@dataclass(frozen=True, slots=True)
class Subkeys:
    """Independent keys derived from one master key, so no key serves two purposes."""

    encryption: bytes  # AES-256-GCM
    check: bytes  # HMAC key for the key-check value


def subkeys(master: bytes, context: bytes) -> Subkeys:
    """HKDF-SHA256 expansions of ``master`` bound to ``context`` (the file kind)."""
    def expand(purpose: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                    info=context + b"/" + purpose).derive(master)
    return Subkeys(encryption=expand(b"aes-256-gcm"), check=expand(b"key-check"))


def key_check_value(check_key: bytes, header: bytes) -> bytes:
    """16 bytes telling a wrong key from damaged ciphertext; reveals no more than GCM itself."""
    return hmac.new(check_key, b"key-check\x00" + header, hashlib.sha256).digest()[:16]
