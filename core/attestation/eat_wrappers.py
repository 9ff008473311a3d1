"""The protobuf wrappers Cocos puts in an EAT's ``raw_report`` (ATTESTATION.md §1.4-§1.5).

``sevsnp.Attestation`` carries the SNP report as separate fields, so the signed 1184 bytes must
be rebuilt from them before anything can be verified; ``attest.Attestation`` (SNP-vTPM) wraps a
``sevsnp.Attestation`` next to the vTPM attestation key whose bytes enter REPORT_DATA.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from core.attestation.eat_proto import (
    ProtobufError, all_bytes, collect, encode_bytes_field, encode_varint_field, last_bytes, last_int,
)
from core.attestation.snp.fields import FIELD_BY_NAME, REPORT_SIZE, SIGNED_END

_SIGNATURE_SIZE = REPORT_SIZE - SIGNED_END  # 512 bytes: R, S and the reserved tail
_CPUID_OFFSET = FIELD_BY_NAME["cpuid_fam_id"].offset

# proto field number -> (report field name, kind); kind "u" = little-endian integer of the
# field's size, "b" = bytes that must have exactly the field's size.
_REPORT_FIELDS: dict[int, tuple[str, str]] = {
    1: ("version", "u"), 2: ("guest_svn", "u"), 3: ("policy", "u"), 4: ("family_id", "b"),
    5: ("image_id", "b"), 6: ("vmpl", "u"), 7: ("signature_algo", "u"), 8: ("current_tcb", "u"),
    9: ("platform_info", "u"), 10: ("signer_info", "u"), 11: ("report_data", "b"),
    12: ("measurement", "b"), 13: ("host_data", "b"), 14: ("id_key_digest", "b"),
    15: ("author_key_digest", "b"), 16: ("report_id", "b"), 17: ("report_id_ma", "b"),
    18: ("reported_tcb", "u"), 19: ("chip_id", "b"), 20: ("committed_tcb", "u"),
    21: ("current_build", "u"), 22: ("current_minor", "u"), 23: ("current_major", "u"),
    24: ("committed_build", "u"), 25: ("committed_minor", "u"), 26: ("committed_major", "u"),
    27: ("launch_tcb", "u"), 30: ("launch_mit_vector", "u"), 31: ("current_mit_vector", "u"),
}
_SIGNATURE_FIELD = 28
_CPUID_FIELD = 29

#: SevProductName enum values (go-sev-guest)
PRODUCT_NAMES = {0: "", 1: "Milan", 2: "Genoa", 3: "Turin"}


@dataclass(frozen=True, slots=True)
class SevSnpAttestation:
    """A decoded ``sevsnp.Attestation``. Certificates are DER exactly as carried.

    Cocos' direct provider swaps ``ask_cert`` and ``ark_cert`` (COCOS-PROTOCOL.md §14 #17), so
    callers must identify certificates by subject, never by the field they came in.
    """

    report: bytes                 # the rebuilt 1184-byte ATTESTATION_REPORT
    vcek_cert: bytes
    ask_cert: bytes
    ark_cert: bytes
    vlek_cert: bytes
    product_name: str             # "Milan" | "Genoa" | "Turin" | "" (unknown)


@dataclass(frozen=True, slots=True)
class TpmAttestation:
    """The parts of an ``attest.Attestation`` the aTLS binding needs."""

    ak_pub: bytes                 # TPMT_PUBLIC of the attestation key (enters SNP REPORT_DATA)
    quotes: tuple[bytes, ...]     # the raw tpm.Quote messages, one per PCR bank
    event_log: bytes
    sev_snp: SevSnpAttestation | None


def _cpuid_bytes(eax: int) -> bytes:
    ext_fam, ext_model = (eax >> 20) & 0xFF, (eax >> 16) & 0xF
    fam_id, model_id, stepping = (eax >> 8) & 0xF, (eax >> 4) & 0xF, eax & 0xF
    family = ext_fam + fam_id
    if family > 0xFF:
        raise ProtobufError(f"the report's CPUID value 0x{eax:08x} names family {family}, "
                            "which does not fit the report; the evidence is malformed")
    return bytes((family, (ext_model << 4) | model_id, stepping))


def _put(report: bytearray, name: str, kind: str, value: int | bytes) -> None:
    spec = FIELD_BY_NAME[name]
    if kind == "u":
        assert isinstance(value, int)
        if value >= 1 << (8 * spec.size):
            raise ProtobufError(f"the report field {name} holds {value}, which does not fit its "
                                f"{spec.size} bytes; the evidence is malformed")
        report[spec.offset:spec.end] = value.to_bytes(spec.size, "little")
    else:
        assert isinstance(value, bytes)
        if value and len(value) != spec.size:
            raise ProtobufError(f"the report field {name} has {len(value)} bytes instead of "
                                f"{spec.size}; the evidence is malformed")
        report[spec.offset:spec.offset + len(value)] = value


def rebuild_report(report_message: bytes) -> bytes:
    """Rebuild the signed 1184-byte report from a ``sevsnp.Report`` message (§1.4)."""
    what = "SNP report message"
    fields = collect(report_message, what)
    report = bytearray(REPORT_SIZE)
    for number, (name, kind) in _REPORT_FIELDS.items():
        value = last_int(fields, number, what) if kind == "u" else last_bytes(fields, number, what)
        _put(report, name, kind, value)
    version = last_int(fields, 1, what)
    if version >= 3:
        report[_CPUID_OFFSET:_CPUID_OFFSET + 3] = _cpuid_bytes(last_int(fields, _CPUID_FIELD, what))
    signature = last_bytes(fields, _SIGNATURE_FIELD, what)
    if len(signature) != _SIGNATURE_SIZE:
        raise ProtobufError(f"the report signature has {len(signature)} bytes instead of "
                            f"{_SIGNATURE_SIZE}; the evidence is malformed")
    report[SIGNED_END:] = signature
    return bytes(report)


def parse_sevsnp_attestation(data: bytes) -> SevSnpAttestation:
    """Decode a ``sevsnp.Attestation``; raise ProtobufError when it holds no usable report."""
    what = "sevsnp.Attestation"
    fields = collect(data, what)
    report_message = last_bytes(fields, 1, what)
    if not report_message:
        raise ProtobufError("the SNP evidence holds no report (field 1 is empty); "
                            "it is not a sevsnp.Attestation")
    chain = collect(last_bytes(fields, 2, what), "SNP certificate chain")
    product = collect(last_bytes(fields, 3, what), "SNP product")
    return SevSnpAttestation(
        report=rebuild_report(report_message),
        vcek_cert=last_bytes(chain, 1, "SNP certificate chain"),
        ask_cert=last_bytes(chain, 2, "SNP certificate chain"),
        ark_cert=last_bytes(chain, 3, "SNP certificate chain"),
        vlek_cert=last_bytes(chain, 6, "SNP certificate chain"),
        product_name=PRODUCT_NAMES.get(last_int(product, 1, "SNP product"), ""),
    )


def parse_tpm_attestation(data: bytes) -> TpmAttestation:
    """Decode the fields of an ``attest.Attestation`` that the binding needs."""
    what = "attest.Attestation"
    fields = collect(data, what)
    snp = last_bytes(fields, 8, what)
    return TpmAttestation(
        ak_pub=last_bytes(fields, 1, what),
        quotes=tuple(all_bytes(fields, 2, what)),
        event_log=last_bytes(fields, 3, what),
        sev_snp=parse_sevsnp_attestation(snp) if snp else None,
    )


# --- building (sandbox evidence, tests) -----------------------------------------------------

def _fms_from_report(report: bytes) -> int:
    family, model, stepping = report[_CPUID_OFFSET:_CPUID_OFFSET + 3]
    ext_fam, fam_id = (family - 0xF, 0xF) if family >= 0xF else (0, family)
    return ext_fam << 20 | (model >> 4) << 16 | fam_id << 8 | (model & 0xF) << 4 | (stepping & 0xF)


def encode_report_message(report: bytes) -> bytes:
    """The ``sevsnp.Report`` message for a raw 1184-byte report (the inverse of rebuild_report)."""
    if len(report) != REPORT_SIZE:
        raise ProtobufError(f"an SNP report is {REPORT_SIZE} bytes, not {len(report)}")
    out = bytearray()
    for number, (name, kind) in sorted(_REPORT_FIELDS.items()):
        spec = FIELD_BY_NAME[name]
        raw = report[spec.offset:spec.end]
        if kind == "u":
            out += encode_varint_field(number, int.from_bytes(raw, "little"))
        else:
            out += encode_bytes_field(number, raw)
        if number == 27:  # proto order: launch_tcb 27, signature 28, cpuid 29, mit vectors 30-31
            out += encode_bytes_field(_SIGNATURE_FIELD, report[SIGNED_END:])
            if struct.unpack_from("<I", report, 0)[0] >= 3:
                out += encode_varint_field(_CPUID_FIELD, _fms_from_report(report))
    return bytes(out)


def encode_sevsnp_attestation(report: bytes, *, vcek: bytes = b"", ask: bytes = b"", ark: bytes = b"",
                              product: int = 0) -> bytes:
    """A ``sevsnp.Attestation`` for a raw report and optional DER certificates."""
    chain = encode_bytes_field(1, vcek) + encode_bytes_field(2, ask) + encode_bytes_field(3, ark)
    return (encode_bytes_field(1, encode_report_message(report)) + encode_bytes_field(2, chain)
            + encode_bytes_field(3, encode_varint_field(1, product)))


def encode_tpm_attestation(ak_pub: bytes, sev_snp_attestation: bytes = b"") -> bytes:
    """An ``attest.Attestation`` with an AK and an optional SNP attestation (no quotes)."""
    return encode_bytes_field(1, ak_pub) + encode_bytes_field(8, sev_snp_attestation)
