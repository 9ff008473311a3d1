"""Products and TCB_VERSION decoding (ATTESTATION.md §2.3).

The byte layout of a TCB_VERSION depends on the product: Turin added an FMC SPL and moved
every other component. Comparisons are always component by component; comparing the
64-bit integers gives wrong answers across products and across components.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Product(str, Enum):
    MILAN = "Milan"
    GENOA = "Genoa"
    TURIN = "Turin"

    @property
    def turin_layout(self) -> bool:
        # Every product from Turin on uses the FMC-first layout.
        return self is Product.TURIN

    @classmethod
    def from_name(cls, name: str) -> Product | None:
        """A KDS/VCEK product name ("Milan-B0", "Genoa", "turin") to a product, or None."""
        base = name.strip().split("-", 1)[0].lower()
        aliases = {"milan": cls.MILAN, "genoa": cls.GENOA, "bergamo": cls.GENOA,
                   "siena": cls.GENOA, "turin": cls.TURIN}
        return aliases.get(base)


def product_from_cpuid(family: int, model: int) -> Product | None:
    """The KDS product for the report's CPUID bytes (v3+), or None when unknown (or Venice)."""
    if family == 0x19:
        if model <= 0x0F:
            return Product.MILAN
        if 0x10 <= model <= 0x1F or 0xA0 <= model <= 0xAF:
            return Product.GENOA
    if family == 0x1A and model <= 0x11:
        return Product.TURIN
    return None


#: component names in a stable order (fmc only exists on Turin and later)
COMPONENTS = ("fmc", "bootloader", "tee", "snp", "microcode")


@dataclass(frozen=True, slots=True)
class TcbVersion:
    """One decoded TCB_VERSION. ``fmc`` is None for Milan/Genoa layouts."""

    raw: int
    bootloader: int
    tee: int
    snp: int
    microcode: int
    fmc: int | None = None

    @classmethod
    def decode(cls, raw: int, product: Product | None) -> TcbVersion:
        b = raw.to_bytes(8, "little")
        if product is not None and product.turin_layout:
            return cls(raw=raw, fmc=b[0], bootloader=b[1], tee=b[2], snp=b[3], microcode=b[7])
        return cls(raw=raw, bootloader=b[0], tee=b[1], snp=b[6], microcode=b[7])

    @classmethod
    def from_components(cls, *, bootloader: int, tee: int, snp: int, microcode: int,
                        fmc: int | None = None) -> TcbVersion:
        """Build the 8-byte encoding from components (Turin layout when fmc is given)."""
        b = bytearray(8)
        if fmc is not None:
            b[0], b[1], b[2], b[3] = fmc, bootloader, tee, snp
        else:
            b[0], b[1], b[6] = bootloader, tee, snp
        b[7] = microcode
        return cls(raw=int.from_bytes(b, "little"), bootloader=bootloader, tee=tee,
                   snp=snp, microcode=microcode, fmc=fmc)

    def components(self) -> dict[str, int]:
        """Component name -> SPL, with fmc only when the layout has one."""
        out = {"bootloader": self.bootloader, "tee": self.tee, "snp": self.snp,
               "microcode": self.microcode}
        if self.fmc is not None:
            out = {"fmc": self.fmc, **out}
        return out

    def lower_components(self, other: TcbVersion) -> list[str]:
        """Components where self < other (empty means self >= other everywhere)."""
        mine = self.components()
        theirs = other.components()
        return [name for name, value in theirs.items() if mine.get(name, 0) < value]

    def __str__(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.components().items())
