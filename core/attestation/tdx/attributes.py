"""TD_ATTRIBUTES and XFAM decoded into named bits (ATTESTATION.md §3.4)."""

from __future__ import annotations

from dataclasses import dataclass

TD_ATTRIBUTE_BITS: dict[int, str] = {
    0: "DEBUG",
    4: "HGS_PLUS_PROF",
    5: "PERF_PROF",
    6: "PMT_PROF",
    16: "ICSSD",
    27: "LASS",
    28: "SEPT_VE_DISABLE",
    29: "MIGRATABLE",
    30: "PKS",
    31: "KL",
    62: "TPA",
    63: "PERFMON",
}

DEBUG_BIT = 0
SEPT_VE_DISABLE_BIT = 28
# go-tdx-guest's validate accepts only these TD attribute bits
GO_TDX_ALLOWED_TD_ATTRIBUTES = (1 << 0) | (1 << 28) | (1 << 30) | (1 << 63)

XFAM_BITS: dict[int, str] = {
    0: "X87",
    1: "SSE",
    2: "AVX",
    5: "AVX512_OPMASK",
    6: "AVX512_ZMM_HI256",
    7: "AVX512_HI16_ZMM",
    8: "PT",
    9: "PKRU",
    11: "CET_U",
    12: "CET_S",
    14: "ULI",
    15: "LBR",
    17: "AMX_TILECFG",
    18: "AMX_TILEDATA",
}
XFAM_FIXED1 = 0x3        # x87 and SSE must be enabled
XFAM_FIXED0 = 0x6DBE7    # bits outside this mask must be clear


def _names(value: int, table: dict[int, str]) -> tuple[str, ...]:
    return tuple(
        table.get(bit, f"bit{bit}") for bit in range(64) if value >> bit & 1
    )


@dataclass(frozen=True, slots=True)
class TdAttributes:
    value: int

    @classmethod
    def from_bytes(cls, raw: bytes) -> TdAttributes:
        return cls(int.from_bytes(raw, "little"))

    @property
    def debug(self) -> bool:
        return bool(self.value >> DEBUG_BIT & 1)

    @property
    def sept_ve_disable(self) -> bool:
        return bool(self.value >> SEPT_VE_DISABLE_BIT & 1)

    @property
    def names(self) -> tuple[str, ...]:
        return _names(self.value, TD_ATTRIBUTE_BITS)

    def describe(self) -> str:
        return ", ".join(self.names) or "none"


@dataclass(frozen=True, slots=True)
class Xfam:
    value: int

    @classmethod
    def from_bytes(cls, raw: bytes) -> Xfam:
        return cls(int.from_bytes(raw, "little"))

    @property
    def names(self) -> tuple[str, ...]:
        return _names(self.value, XFAM_BITS)

    @property
    def fixed_bits_ok(self) -> bool:
        return self.value & XFAM_FIXED1 == XFAM_FIXED1 and self.value & ~XFAM_FIXED0 == 0

    def describe(self) -> str:
        return ", ".join(self.names) or "none"
