"""TPM 2.0 structures of a quote (big-endian; TPM 2.0 Part 2; ATTESTATION.md §4.2): parse and build.

* TPMT_PUBLIC lives in ``public`` and is re-exported here;
* TPMT_SIGNATURE (RSASSA, RSAPSS, ECDSA);
* TPMS_ATTEST with TPMS_CLOCK_INFO and, for quotes, TPMS_QUOTE_INFO (TPML_PCR_SELECTION, pcrDigest).

Parsers check every length against the input and refuse trailing bytes; any malformation is a
``TpmStructureError``. They do not judge values (magic, type, nonce): ``verify`` does, so the
user sees which rule failed. Builders produce what a TPM would, for tests and the sandbox TEE.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.attestation.vtpm.algorithms import TpmAlg, alg_name, digest
from core.attestation.vtpm.errors import TpmStructureError
from core.attestation.vtpm.public import (
    AK_ATTRIBUTES, TpmtPublic, build_ecc_public, build_rsa_public, parse_public,
)
from core.attestation.vtpm.reader import Reader

__all__ = [
    "AK_ATTRIBUTES", "ATTEST_QUOTE", "TPM_GENERATED", "ClockInfo", "PcrSelection", "QuoteInfo",
    "TpmsAttest", "TpmtPublic", "TpmtSignature", "build_attest", "build_ecc_public", "build_pcr_selection",
    "build_rsa_public", "build_signature", "parse_attest", "parse_pcr_selection", "parse_public",
    "parse_signature", "pcr_composite_digest",
]

TPM_GENERATED = 0xFF544347   # "\xffTCG": only the TPM itself produces data that starts with it
ATTEST_QUOTE = 0x8018
_MAX_BANKS = 16              # TPM HASH_COUNT is far lower; anything above is not a TPM
_MAX_SELECT_BYTES = 32       # 256 PCRs, beyond any TPM (PC Client TPMs have 24)
_MAX_SIG_BYTES = 512
_MAX_NAME_BYTES = 2 + 64
_MAX_DATA_BYTES = 64


@dataclass(frozen=True, slots=True)
class TpmtSignature:
    sig_alg: int
    hash_alg: int | None
    signature: bytes = b""          # RSASSA / RSAPSS
    ecdsa_r: bytes = b""
    ecdsa_s: bytes = b""


def parse_signature(data: bytes) -> TpmtSignature:
    """Parse a TPMT_SIGNATURE of an RSA or ECDSA key (NULL is read but cannot verify anything)."""
    r = Reader(data, "TPMT_SIGNATURE", error=TpmStructureError)
    sig_alg = r.u16("sigAlg")
    if sig_alg == TpmAlg.NULL:
        r.finish()
        return TpmtSignature(sig_alg, None)
    if sig_alg in (TpmAlg.RSASSA, TpmAlg.RSAPSS):
        hash_alg = r.u16("hash")
        sig = r.sized("sig", limit=_MAX_SIG_BYTES)
        r.finish()
        return TpmtSignature(sig_alg, hash_alg, signature=sig)
    if sig_alg == TpmAlg.ECDSA:
        hash_alg = r.u16("hash")
        sig_r = r.sized("signatureR", limit=66)
        sig_s = r.sized("signatureS", limit=66)
        r.finish()
        return TpmtSignature(sig_alg, hash_alg, ecdsa_r=sig_r, ecdsa_s=sig_s)
    raise r.fail(f"signature algorithm {alg_name(sig_alg)} is not RSASSA, RSAPSS or ECDSA")


def build_signature(sig_alg: int, hash_alg: int, *, signature: bytes = b"", ecdsa_r: bytes = b"",
                    ecdsa_s: bytes = b"") -> bytes:
    head = _u16(sig_alg) + _u16(hash_alg)
    if sig_alg == TpmAlg.ECDSA:
        return head + _tpm2b(ecdsa_r) + _tpm2b(ecdsa_s)
    return head + _tpm2b(signature)


@dataclass(frozen=True, slots=True)
class PcrSelection:
    """One TPMS_PCR_SELECTION: a bank and the PCR indexes its bitmap selects (ascending)."""

    hash_alg: int
    indexes: tuple[int, ...]
    size_of_select: int = 3


def _read_selection(r: Reader) -> tuple[PcrSelection, ...]:
    count = r.u32("pcrSelect.count")
    if count > _MAX_BANKS:
        raise r.fail(f"the PCR selection claims {count} banks; a TPM has at most {_MAX_BANKS}")
    out = []
    for n in range(count):
        hash_alg = r.u16(f"pcrSelect[{n}].hash")
        size = r.u8(f"pcrSelect[{n}].sizeofSelect")
        if size > _MAX_SELECT_BYTES:
            raise r.fail(f"pcrSelect[{n}] has a {size}-byte bitmap; at most {_MAX_SELECT_BYTES} is possible")
        bitmap = r.take(size, f"pcrSelect[{n}].pcrSelect")
        # bit i of byte j selects PCR 8j+i
        indexes = tuple(8 * j + i for j, byte in enumerate(bitmap) for i in range(8) if byte >> i & 1)
        out.append(PcrSelection(hash_alg, indexes, size))
    return tuple(out)


def parse_pcr_selection(data: bytes) -> tuple[PcrSelection, ...]:
    """Parse a standalone TPML_PCR_SELECTION."""
    r = Reader(data, "TPML_PCR_SELECTION", error=TpmStructureError)
    out = _read_selection(r)
    r.finish()
    return out


def build_pcr_selection(selections: Iterable[PcrSelection | tuple[int, Iterable[int]]]) -> bytes:
    parts = []
    for sel in selections:
        if not isinstance(sel, PcrSelection):
            alg, idx = sel
            sel = PcrSelection(alg, tuple(sorted(set(idx))))
        size = max(sel.size_of_select, (max(sel.indexes) // 8 + 1) if sel.indexes else 0)
        bitmap = bytearray(size)
        for i in sel.indexes:
            bitmap[i // 8] |= 1 << (i % 8)
        parts.append(_u16(sel.hash_alg) + bytes([size]) + bytes(bitmap))
    return len(parts).to_bytes(4, "big") + b"".join(parts)


def pcr_composite_digest(values: Iterable[bytes], hash_alg: int = TpmAlg.SHA256) -> bytes:
    """pcrDigest: H(PCR[i0] || PCR[i1] || ...), values already in ascending index order."""
    return digest(hash_alg, b"".join(values))


@dataclass(frozen=True, slots=True)
class ClockInfo:
    clock: int
    reset_count: int
    restart_count: int
    safe: bool


@dataclass(frozen=True, slots=True)
class QuoteInfo:
    pcr_select: tuple[PcrSelection, ...]
    pcr_digest: bytes


@dataclass(frozen=True, slots=True)
class TpmsAttest:
    """A TPMS_ATTEST; ``quote`` is set when ``type`` is TPM_ST_ATTEST_QUOTE."""

    raw: bytes
    magic: int
    type: int
    qualified_signer: bytes
    extra_data: bytes
    clock_info: ClockInfo
    firmware_version: int
    quote: QuoteInfo | None

    @property
    def is_tpm_generated(self) -> bool:
        return self.magic == TPM_GENERATED


def parse_attest(data: bytes) -> TpmsAttest:
    """Parse a TPMS_ATTEST; only a quote's body (TPMS_QUOTE_INFO) is decoded."""
    r = Reader(data, "quote (TPMS_ATTEST)", error=TpmStructureError)
    magic, att_type = r.u32("magic"), r.u16("type")
    signer = r.sized("qualifiedSigner", limit=_MAX_NAME_BYTES)
    extra = r.sized("extraData", limit=_MAX_DATA_BYTES)
    clock = ClockInfo(r.u64("clockInfo.clock"), r.u32("clockInfo.resetCount"),
                      r.u32("clockInfo.restartCount"), bool(r.u8("clockInfo.safe")))
    firmware = r.u64("firmwareVersion")
    quote = None
    if att_type == ATTEST_QUOTE:
        selection = _read_selection(r)
        quote = QuoteInfo(selection, r.sized("pcrDigest", limit=64))
        r.finish()
    return TpmsAttest(bytes(data), magic, att_type, signer, extra, clock, firmware, quote)


def build_attest(*, extra_data: bytes, selections: Iterable[PcrSelection | tuple[int, Iterable[int]]],
                 pcr_digest: bytes, qualified_signer: bytes = b"\x00\x0b" + bytes(32),
                 clock: ClockInfo = ClockInfo(1_000_000, 1, 0, True), firmware_version: int = 0x2000_0001,
                 magic: int = TPM_GENERATED, att_type: int = ATTEST_QUOTE) -> bytes:
    """A quote's TPMS_ATTEST as the TPM writes it before signing."""
    return (magic.to_bytes(4, "big") + _u16(att_type) + _tpm2b(qualified_signer) + _tpm2b(extra_data)
            + clock.clock.to_bytes(8, "big") + clock.reset_count.to_bytes(4, "big")
            + clock.restart_count.to_bytes(4, "big") + bytes([int(clock.safe)])
            + firmware_version.to_bytes(8, "big") + build_pcr_selection(selections) + _tpm2b(pcr_digest))


def _u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def _tpm2b(value: bytes) -> bytes:
    return _u16(len(value)) + value

