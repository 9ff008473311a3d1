"""The vTPM evidence as one immutable object, and the protobuf ``attest.Attestation`` codec.

Field numbers are those of go-tpm-tools v0.4.4 as Cocos packs them (ATTESTATION.md §1.5):
Attestation{ak_pub 1, quotes 2, event_log 3, ak_cert 6, sev_snp_attestation 8}, Quote{quote 1,
raw_sig 2, pcrs 3}, PCRs{hash 1 (TPM_ALG_ID), pcrs 2 (map<uint32, bytes>)}. Fields Cocos leaves
unset (instance_info, canonical_event_log, intermediate_certs, tdx_attestation) are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.attestation.vtpm.algorithms import alg_name
from core.attestation.vtpm.errors import AttestationFormatError
from core.attestation.vtpm.wire import bytes_field, fields, varint_field, want_bytes, want_int

_WHAT = "vTPM attestation (attest.Attestation)"
_MAX_QUOTES = 8        # one per PCR bank; a TPM has a handful of banks
_MAX_PCR_INDEX = 31


@dataclass(frozen=True, slots=True)
class PcrBank:
    """The PCR values a quote claims for one bank: ``values`` in ascending index order."""

    hash_alg: int
    values: tuple[tuple[int, bytes], ...]

    @classmethod
    def of(cls, hash_alg: int, values: Mapping[int, bytes]) -> PcrBank:
        return cls(int(hash_alg), tuple(sorted((int(i), bytes(v)) for i, v in values.items())))

    @property
    def name(self) -> str:
        return alg_name(self.hash_alg)

    @property
    def indexes(self) -> tuple[int, ...]:
        return tuple(i for i, _ in self.values)

    def get(self, index: int) -> bytes | None:
        return next((v for i, v in self.values if i == index), None)

    def as_dict(self) -> dict[int, bytes]:
        return dict(self.values)


@dataclass(frozen=True, slots=True)
class Quote:
    """One ``tpm.Quote``: the signed TPMS_ATTEST, its TPMT_SIGNATURE and the claimed PCR values."""

    quote: bytes
    raw_sig: bytes
    pcrs: PcrBank


@dataclass(frozen=True, slots=True)
class VtpmAttestation:
    ak_pub: bytes                             # TPMT_PUBLIC of the attestation key
    quotes: tuple[Quote, ...]
    event_log: bytes = b""                    # TCG crypto-agile firmware log (may be empty)
    snp_report: bytes | None = None           # the raw 1184-byte SNP report, when known
    sev_snp_attestation: bytes | None = None  # field 8 as received: a protobuf sevsnp.Attestation
    ak_cert: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "quotes", tuple(self.quotes))

    def bank(self, hash_alg: int) -> PcrBank | None:
        return next((q.pcrs for q in self.quotes if q.pcrs.hash_alg == hash_alg), None)


def _pcr_entry(data: bytes, what: str) -> tuple[int, bytes]:
    key, value = 0, b""
    for number, wire_type, raw in fields(data, what):
        if number == 1:
            key = want_int(number, wire_type, raw, what)
        elif number == 2:
            value = want_bytes(number, wire_type, raw, what)
    if key > _MAX_PCR_INDEX:
        raise AttestationFormatError(f"the {what} names PCR {key}; a TPM has PCRs 0 to {_MAX_PCR_INDEX}")
    return key, value


def _pcrs(data: bytes, where: str) -> PcrBank:
    what = f"PCR values of {where}"
    hash_alg, values = 0, {}
    for number, wire_type, raw in fields(data, what):
        if number == 1:
            hash_alg = want_int(number, wire_type, raw, what)
        elif number == 2:
            index, value = _pcr_entry(want_bytes(number, wire_type, raw, what), f"PCR entry of {where}")
            values[index] = value  # protobuf maps: the last entry for a key wins
    if hash_alg > 0xFFFF:
        raise AttestationFormatError(f"the {what} names hash algorithm {hash_alg}, which is not a TPM id")
    return PcrBank.of(hash_alg, values)


def _quote(data: bytes, n: int) -> Quote:
    where = f"quote {n}"
    quote, sig, pcrs = b"", b"", PcrBank(0, ())
    for number, wire_type, raw in fields(data, where):
        if number == 1:
            quote = want_bytes(number, wire_type, raw, where)
        elif number == 2:
            sig = want_bytes(number, wire_type, raw, where)
        elif number == 3:
            pcrs = _pcrs(want_bytes(number, wire_type, raw, where), where)
    return Quote(quote, sig, pcrs)


def decode_attestation(data: bytes) -> VtpmAttestation:
    """Decode a protobuf ``attest.Attestation``; AttestationFormatError on malformed bytes."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise AttestationFormatError(f"the {_WHAT} must be bytes, not {type(data).__name__}")
    data = bytes(data)
    ak_pub, event_log, ak_cert, snp = b"", b"", b"", None
    quotes: list[Quote] = []
    for number, wire_type, raw in fields(data, _WHAT):
        if number == 1:
            ak_pub = want_bytes(number, wire_type, raw, _WHAT)
        elif number == 2:
            if len(quotes) >= _MAX_QUOTES:
                raise AttestationFormatError(f"the {_WHAT} holds more than {_MAX_QUOTES} quotes")
            quotes.append(_quote(want_bytes(number, wire_type, raw, _WHAT), len(quotes) + 1))
        elif number == 3:
            event_log = want_bytes(number, wire_type, raw, _WHAT)
        elif number == 6:
            ak_cert = want_bytes(number, wire_type, raw, _WHAT)
        elif number == 8:
            snp = want_bytes(number, wire_type, raw, _WHAT)
    if not ak_pub and not quotes:
        raise AttestationFormatError(
            f"the {_WHAT} has neither an attestation key nor quotes; it is empty or not vTPM evidence")
    return VtpmAttestation(ak_pub=ak_pub, quotes=tuple(quotes), event_log=event_log,
                           sev_snp_attestation=snp, ak_cert=ak_cert)


def _encode_pcrs(bank: PcrBank) -> bytes:
    entries = b"".join(
        bytes_field(2, varint_field(1, i, keep_zero=True) + bytes_field(2, v, keep_empty=True), keep_empty=True)
        for i, v in bank.values)
    return varint_field(1, bank.hash_alg) + entries


def encode_attestation(att: VtpmAttestation) -> bytes:
    """The protobuf ``attest.Attestation`` (for the sandbox TEE and tests)."""
    quotes = b"".join(
        bytes_field(2, bytes_field(1, q.quote) + bytes_field(2, q.raw_sig)
                    + bytes_field(3, _encode_pcrs(q.pcrs)), keep_empty=True)
        for q in att.quotes)
    return (bytes_field(1, att.ak_pub) + quotes + bytes_field(3, att.event_log) + bytes_field(6, att.ak_cert)
            + bytes_field(8, att.sev_snp_attestation or b""))
