"""Where every TDX quote field lives: one table (FIELDS) used by the parser and the hex view.

Offsets are relative to the start of their region (ATTESTATION.md §3.1-§3.3); ``field_spans``
turns them into absolute quote offsets for a parsed quote, whose regions can move (v5 adds a body
descriptor, the QE auth data has a variable length).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .quote import TdxQuote


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str    # the spec name, as a Python attribute of the parsed dataclass
    offset: int  # from the start of the region
    size: int
    kind: str    # "u16" | "u32" | "bytes" (integers are little-endian)


def _f(name: str, offset: int, size: int, kind: str = "bytes") -> FieldSpec:
    return FieldSpec(name, offset, size, kind)


HEADER_SIZE = 48
V5_DESCRIPTOR_SIZE = 6
BODY_SIZE_TD10 = 584
BODY_SIZE_TD15 = 648
QE_REPORT_SIZE = 384
SIGNATURE_SIZE = 64
ATTESTATION_KEY_SIZE = 64
AUTH_FIXED_SIZE = 134        # signature + key + certification data type + size

FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "header": (
        _f("version", 0x00, 2, "u16"),
        _f("attestation_key_type", 0x02, 2, "u16"),
        _f("tee_type", 0x04, 4, "u32"),
        _f("reserved_qe_svn", 0x08, 2, "u16"),
        _f("reserved_pce_svn", 0x0A, 2, "u16"),
        _f("qe_vendor_id", 0x0C, 16),
        _f("user_data", 0x1C, 20),
    ),
    # v5 only, right after the header
    "descriptor": (
        _f("body_type", 0x00, 2, "u16"),
        _f("body_size", 0x02, 4, "u32"),
    ),
    "body": (
        _f("tee_tcb_svn", 0x000, 16),
        _f("mr_seam", 0x010, 48),
        _f("mr_signer_seam", 0x040, 48),
        _f("seam_attributes", 0x070, 8),
        _f("td_attributes", 0x078, 8),
        _f("xfam", 0x080, 8),
        _f("mr_td", 0x088, 48),
        _f("mr_config_id", 0x0B8, 48),
        _f("mr_owner", 0x0E8, 48),
        _f("mr_owner_config", 0x118, 48),
        _f("rtmr0", 0x148, 48),
        _f("rtmr1", 0x178, 48),
        _f("rtmr2", 0x1A8, 48),
        _f("rtmr3", 0x1D8, 48),
        _f("report_data", 0x208, 64),
    ),
    # body type 3 (TDX 1.5) only
    "body_td15": (
        _f("tee_tcb_svn_2", 0x248, 16),
        _f("mr_service_td", 0x258, 48),
    ),
    # from the start of the signature data (after the u32 signature_data_len)
    "auth_data": (
        _f("signature", 0, 64),
        _f("attestation_key", 64, 64),
        _f("certification_data_type", 128, 2, "u16"),
        _f("certification_data_size", 130, 4, "u32"),
    ),
    "qe_report": (
        _f("cpu_svn", 0, 16),
        _f("misc_select", 16, 4, "u32"),
        _f("reserved1", 20, 28),
        _f("attributes", 48, 16),
        _f("mr_enclave", 64, 32),
        _f("reserved2", 96, 32),
        _f("mr_signer", 128, 32),
        _f("reserved3", 160, 96),
        _f("isv_prod_id", 256, 2, "u16"),
        _f("isv_svn", 258, 2, "u16"),
        _f("reserved4", 260, 60),
        _f("report_data", 320, 64),
    ),
    # from the start of the QE report certification data (type 6)
    "qe_certification": (
        _f("qe_report", 0, 384),
        _f("qe_report_signature", 384, 64),
        _f("qe_auth_data_size", 448, 2, "u16"),
    ),
}


def read_fields(region: str, data: bytes, base: int = 0) -> dict[str, int | bytes]:
    """Read every field of ``region`` from ``data`` (caller has checked the length)."""
    out: dict[str, int | bytes] = {}
    for spec in FIELDS[region]:
        raw = data[base + spec.offset : base + spec.offset + spec.size]
        out[spec.name] = raw if spec.kind == "bytes" else int.from_bytes(raw, "little")
    return out


def field_spans(quote: TdxQuote) -> list[tuple[str, int, int]]:
    """Absolute ``(dotted name, start, end)`` of every field of a parsed quote, in order."""
    spans: list[tuple[str, int, int]] = []

    def add(region: str, base: int, prefix: str) -> None:
        spans.extend(
            (f"{prefix}.{s.name}", base + s.offset, base + s.offset + s.size) for s in FIELDS[region]
        )

    add("header", 0, "header")
    if quote.header.version == 5:
        add("descriptor", HEADER_SIZE, "descriptor")
    add("body", quote.body_offset, "body")
    if quote.body.tee_tcb_svn_2 is not None:
        add("body_td15", quote.body_offset, "body")
    spans.append(("signature_data_len", quote.signed_region_end, quote.signed_region_end + 4))
    auth = quote.signed_region_end + 4
    add("auth_data", auth, "auth_data")
    qe_cert = auth + AUTH_FIXED_SIZE
    add("qe_certification", qe_cert, "qe_certification")
    add("qe_report", qe_cert, "qe_report")
    n = len(quote.auth_data.qe_certification.qe_auth_data)
    tail = qe_cert + 450
    spans.append(("qe_certification.qe_auth_data", tail, tail + n))
    spans.append(("pck.certification_data_type", tail + n, tail + n + 2))
    spans.append(("pck.certification_data_size", tail + n + 2, tail + n + 6))
    pem = len(quote.auth_data.qe_certification.pck_chain_pem)
    spans.append(("pck.cert_chain_pem", tail + n + 6, tail + n + 6 + pem))
    return spans
