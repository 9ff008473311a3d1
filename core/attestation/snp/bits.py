"""Decoded bit fields of an SNP report: guest POLICY, PLATFORM_INFO, SIGNER_INFO (§2.4, §2.1).

Guest POLICY bit 19 is DEBUG; published guides that show bit 3 describe legacy SEV, not SNP.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

POLICY_RESERVED_ONE = 1 << 17
POLICY_MBZ_MASK = ~((1 << 26) - 1) & 0xFFFF_FFFF_FFFF_FFFF
SIGNER_MBZ_MASK = ~0x1F & 0xFFFF_FFFF


def _bit(value: int, n: int) -> bool:
    return bool((value >> n) & 1)


@dataclass(frozen=True, slots=True)
class GuestPolicy:
    raw: int
    abi_minor: int
    abi_major: int
    smt_allowed: bool
    reserved_one: bool
    migrate_ma_allowed: bool
    debug_allowed: bool
    single_socket_required: bool
    cxl_allowed: bool
    mem_aes_256_xts_required: bool
    rapl_disabled_required: bool
    ciphertext_hiding_required: bool
    page_swap_disabled: bool

    @classmethod
    def decode(cls, raw: int) -> GuestPolicy:
        return cls(
            raw=raw,
            abi_minor=raw & 0xFF,
            abi_major=(raw >> 8) & 0xFF,
            smt_allowed=_bit(raw, 16),
            reserved_one=_bit(raw, 17),
            migrate_ma_allowed=_bit(raw, 18),
            debug_allowed=_bit(raw, 19),
            single_socket_required=_bit(raw, 20),
            cxl_allowed=_bit(raw, 21),
            mem_aes_256_xts_required=_bit(raw, 22),
            rapl_disabled_required=_bit(raw, 23),
            ciphertext_hiding_required=_bit(raw, 24),
            page_swap_disabled=_bit(raw, 25),
        )


@dataclass(frozen=True, slots=True)
class PlatformInfo:
    raw: int
    smt_enabled: bool
    tsme_enabled: bool
    ecc_enabled: bool
    rapl_disabled: bool
    ciphertext_hiding_enabled: bool
    alias_check_complete: bool
    tio_enabled: bool

    @classmethod
    def decode(cls, raw: int) -> PlatformInfo:
        # Bit 6 and bits above 7 are tolerated: real Turin parts set bit 6 (0x65).
        return cls(
            raw=raw,
            smt_enabled=_bit(raw, 0),
            tsme_enabled=_bit(raw, 1),
            ecc_enabled=_bit(raw, 2),
            rapl_disabled=_bit(raw, 3),
            ciphertext_hiding_enabled=_bit(raw, 4),
            alias_check_complete=_bit(raw, 5),
            tio_enabled=_bit(raw, 7),
        )


class SigningKey(IntEnum):
    VCEK = 0
    VLEK = 1
    NONE = 7


@dataclass(frozen=True, slots=True)
class SignerInfo:
    raw: int
    author_key_en: bool
    mask_chip_key: bool
    signing_key: SigningKey

    @classmethod
    def decode(cls, raw: int) -> SignerInfo:
        """Decode; the caller has already rejected reserved key selections and MBZ bits."""
        return cls(raw=raw, author_key_en=_bit(raw, 0), mask_chip_key=_bit(raw, 1),
                   signing_key=SigningKey((raw >> 2) & 0x7))
