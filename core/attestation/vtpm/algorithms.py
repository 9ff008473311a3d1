"""TPM_ALG_ID values and the hash functions behind them (TPM 2.0 Part 2, §6.3)."""

from __future__ import annotations

import hashlib
from enum import IntEnum


class TpmAlg(IntEnum):
    RSA = 0x0001
    SHA1 = 0x0004
    HMAC = 0x0005
    AES = 0x0006
    KEYEDHASH = 0x0008
    SHA256 = 0x000B
    SHA384 = 0x000C
    SHA512 = 0x000D
    NULL = 0x0010
    RSASSA = 0x0014
    RSAES = 0x0015
    RSAPSS = 0x0016
    OAEP = 0x0017
    ECDSA = 0x0018
    ECDH = 0x0019
    ECDAA = 0x001A
    ECSCHNORR = 0x001C
    ECC = 0x0023
    SYMCIPHER = 0x0025


#: bank hash -> (hashlib name, digest size)
HASHES: dict[int, tuple[str, int]] = {
    TpmAlg.SHA1: ("sha1", 20),
    TpmAlg.SHA256: ("sha256", 32),
    TpmAlg.SHA384: ("sha384", 48),
    TpmAlg.SHA512: ("sha512", 64),
}

BANK_BY_NAME: dict[str, int] = {name: alg for alg, (name, _) in HASHES.items()}


def alg_name(alg: int) -> str:
    """A readable name for an algorithm id, e.g. "sha256" or "0x1234"."""
    if alg in HASHES:
        return HASHES[alg][0]
    try:
        return TpmAlg(alg).name.lower()
    except ValueError:
        return f"0x{alg:04x}"


def is_hash(alg: int) -> bool:
    return alg in HASHES


def digest_size(alg: int) -> int:
    return HASHES[alg][1]


def digest(alg: int, data: bytes) -> bytes:
    """H(data) with the TPM hash ``alg`` (a KeyError for a non-hash id is a programming error)."""
    return hashlib.new(HASHES[alg][0], data).digest()


def extend(alg: int, pcr: bytes, measurement: bytes) -> bytes:
    """The TPM extend operation: PCR_new = H(PCR_old || measurement)."""
    return digest(alg, pcr + measurement)
