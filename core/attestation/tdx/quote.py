"""TDX DCAP quotes v4 and v5 parsed into immutable typed objects (ATTESTATION.md §3.1-§3.3).

Parsing checks the format only (versions, types, lengths); authenticity is the verifier's job.
Integers are little-endian; signatures stay as raw big-endian r||s bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import layout as L
from .attributes import TdAttributes, Xfam
from .errors import TdxEvidenceError, truncated

QUOTE_VERSIONS = (4, 5)
ATTESTATION_KEY_ECDSA_P256 = 2
TEE_TYPE_TDX = 0x81
TEE_TYPE_SGX = 0x00
BODY_TYPE_TD10 = 2
BODY_TYPE_TD15 = 3
CERT_DATA_QE_REPORT = 6
CERT_DATA_PCK_CHAIN = 5
INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")
MAX_QUOTE_SIZE = 1 << 20          # far above any real quote (~5 KB; padded GCP quotes 8 KB)
MAX_PCK_CHAIN_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class QuoteHeader:
    version: int
    attestation_key_type: int
    tee_type: int
    reserved_qe_svn: int
    reserved_pce_svn: int
    qe_vendor_id: bytes
    user_data: bytes


@dataclass(frozen=True, slots=True)
class TdQuoteBody:
    tee_tcb_svn: bytes
    mr_seam: bytes
    mr_signer_seam: bytes
    seam_attributes: bytes
    td_attributes: bytes
    xfam: bytes
    mr_td: bytes
    mr_config_id: bytes
    mr_owner: bytes
    mr_owner_config: bytes
    rtmr0: bytes
    rtmr1: bytes
    rtmr2: bytes
    rtmr3: bytes
    report_data: bytes
    tee_tcb_svn_2: bytes | None = None   # TDX 1.5 body (v5 type 3) only
    mr_service_td: bytes | None = None   # TDX 1.5 body (v5 type 3) only

    @property
    def rtmrs(self) -> tuple[bytes, bytes, bytes, bytes]:
        return (self.rtmr0, self.rtmr1, self.rtmr2, self.rtmr3)

    @property
    def attributes(self) -> TdAttributes:
        return TdAttributes.from_bytes(self.td_attributes)

    @property
    def xfam_bits(self) -> Xfam:
        return Xfam.from_bytes(self.xfam)


@dataclass(frozen=True, slots=True)
class QeReport:
    """The quoting enclave's SGX REPORTBODY (384 bytes)."""

    cpu_svn: bytes
    misc_select: int
    attributes: bytes
    mr_enclave: bytes
    mr_signer: bytes
    isv_prod_id: int
    isv_svn: int
    report_data: bytes
    raw: bytes


@dataclass(frozen=True, slots=True)
class QeReportCertificationData:
    """Certification data type 6: the QE report, its PCK signature, auth data and the PCK chain."""

    qe_report: QeReport
    qe_report_signature: bytes
    qe_auth_data: bytes
    pck_certification_data_type: int
    pck_chain_pem: bytes


@dataclass(frozen=True, slots=True)
class QuoteAuthData:
    """ECDSA-256 quote auth data (the quote's signature data)."""

    signature: bytes
    attestation_key: bytes
    certification_data_type: int
    certification_data_size: int
    qe_certification: QeReportCertificationData


@dataclass(frozen=True, slots=True)
class TdxQuote:
    header: QuoteHeader
    body_type: int                   # v4: always 2 (implicit)
    body_size: int
    body_offset: int
    body: TdQuoteBody
    signed_region_end: int
    signature_data_len: int
    auth_data: QuoteAuthData
    raw: bytes                       # the quote bytes without any trailing padding
    trailing_bytes: int              # ignored padding after the signature data

    @property
    def signed_region(self) -> bytes:
        return self.raw[: self.signed_region_end]


def _need(data: bytes, end: int, what: str, hint: str = "") -> None:
    if len(data) < end:
        raise truncated(what, end, len(data), hint)


def parse_header(data: bytes) -> QuoteHeader:
    _need(data, L.HEADER_SIZE, "TDX quote header", "the quote was cut off in transit")
    header = QuoteHeader(**L.read_fields("header", data))  # type: ignore[arg-type]
    if header.version not in QUOTE_VERSIONS:
        raise TdxEvidenceError(
            f"unsupported TDX quote version {header.version} (this app reads versions 4 and 5); "
            "the evidence is not a TDX DCAP quote or comes from an unsupported quoting library",
            code="tdx-bad-version",
        )
    if header.attestation_key_type != ATTESTATION_KEY_ECDSA_P256:
        raise TdxEvidenceError(
            f"unsupported attestation key type {header.attestation_key_type} "
            "(only 2 = ECDSA-256 with P-256 is defined for TDX)",
            code="tdx-bad-key-type",
        )
    if header.tee_type != TEE_TYPE_TDX:
        kind = "an SGX enclave quote" if header.tee_type == TEE_TYPE_SGX else "not a TDX quote"
        raise TdxEvidenceError(
            f"TEE type 0x{header.tee_type:08x} is {kind} (TDX quotes carry 0x00000081)",
            code="tdx-bad-tee-type",
        )
    return header


def _parse_body_location(data: bytes, header: QuoteHeader) -> tuple[int, int, int]:
    """(body_type, body_size, body_offset) for v4 (implicit) or v5 (descriptor)."""
    if header.version == 4:
        return BODY_TYPE_TD10, L.BODY_SIZE_TD10, L.HEADER_SIZE
    _need(data, L.HEADER_SIZE + L.V5_DESCRIPTOR_SIZE, "TDX v5 body descriptor")
    desc = L.read_fields("descriptor", data, L.HEADER_SIZE)
    body_type, body_size = int(desc["body_type"]), int(desc["body_size"])
    expected = {BODY_TYPE_TD10: L.BODY_SIZE_TD10, BODY_TYPE_TD15: L.BODY_SIZE_TD15}
    if body_type not in expected:
        what = "an SGX enclave report" if body_type == 1 else "an unknown body"
        raise TdxEvidenceError(
            f"v5 quote body type {body_type} is {what}; only TD reports (types 2 and 3) are accepted",
            code="tdx-bad-body-type",
        )
    if body_size != expected[body_type]:
        raise TdxEvidenceError(
            f"v5 quote body type {body_type} must be {expected[body_type]} bytes, "
            f"the descriptor says {body_size}",
            code="tdx-bad-length",
        )
    return body_type, body_size, L.HEADER_SIZE + L.V5_DESCRIPTOR_SIZE


def parse_body(data: bytes, offset: int, body_type: int) -> TdQuoteBody:
    values = L.read_fields("body", data, offset)
    if body_type == BODY_TYPE_TD15:
        values.update(L.read_fields("body_td15", data, offset))
    return TdQuoteBody(**values)  # type: ignore[arg-type]


def parse_qe_report(raw: bytes) -> QeReport:
    if len(raw) != L.QE_REPORT_SIZE:
        raise truncated("QE report", L.QE_REPORT_SIZE, len(raw))
    values = L.read_fields("qe_report", raw)
    for name in ("reserved1", "reserved2", "reserved3", "reserved4"):
        del values[name]
    return QeReport(raw=raw, **values)  # type: ignore[arg-type]


def _parse_qe_certification(data: bytes) -> QeReportCertificationData:
    """Certification data type 6; ``data`` is exactly its declared size."""
    fixed = L.QE_REPORT_SIZE + L.SIGNATURE_SIZE + 2
    _need(data, fixed, "QE report certification data")
    values = L.read_fields("qe_certification", data)
    n = int(values["qe_auth_data_size"])
    _need(data, fixed + n + 6, "QE auth data and PCK certification header")
    inner_type, inner_size = struct.unpack_from("<HI", data, fixed + n)
    if inner_type != CERT_DATA_PCK_CHAIN:
        raise TdxEvidenceError(
            f"inner certification data type is {inner_type}; a TDX quote must carry the PCK "
            "certificate chain (type 5) inside the QE report certification data",
            code="tdx-bad-cert-type",
        )
    if inner_size > MAX_PCK_CHAIN_SIZE:
        raise TdxEvidenceError(
            f"PCK certificate chain of {inner_size} bytes exceeds the {MAX_PCK_CHAIN_SIZE}-byte bound",
            code="tdx-bad-length",
        )
    start = fixed + n + 6
    if start + inner_size != len(data):
        raise TdxEvidenceError(
            f"the PCK chain ({inner_size} bytes) does not fill the certification data "
            f"({len(data) - start} bytes left); the quote's length fields are inconsistent",
            code="tdx-bad-length",
        )
    return QeReportCertificationData(
        qe_report=parse_qe_report(bytes(values["qe_report"])),  # type: ignore[arg-type]
        qe_report_signature=values["qe_report_signature"],  # type: ignore[arg-type]
        qe_auth_data=data[fixed : fixed + n],
        pck_certification_data_type=inner_type,
        pck_chain_pem=data[start:],
    )


def parse_auth_data(data: bytes) -> QuoteAuthData:
    """ECDSA-256 quote auth data; ``data`` is exactly ``signature_data_len`` bytes."""
    _need(data, L.AUTH_FIXED_SIZE, "quote signature data")
    values = L.read_fields("auth_data", data)
    cert_type, cert_size = int(values["certification_data_type"]), int(values["certification_data_size"])
    if cert_type != CERT_DATA_QE_REPORT:
        raise TdxEvidenceError(
            f"certification data type is {cert_type}; a TDX quote must carry QE report "
            "certification data (type 6)",
            code="tdx-bad-cert-type",
        )
    if L.AUTH_FIXED_SIZE + cert_size != len(data):
        raise TdxEvidenceError(
            f"certification data size {cert_size} does not match the signature data "
            f"({len(data) - L.AUTH_FIXED_SIZE} bytes after its header)",
            code="tdx-bad-length",
        )
    return QuoteAuthData(
        signature=values["signature"],  # type: ignore[arg-type]
        attestation_key=values["attestation_key"],  # type: ignore[arg-type]
        certification_data_type=cert_type,
        certification_data_size=cert_size,
        qe_certification=_parse_qe_certification(data[L.AUTH_FIXED_SIZE :]),
    )


def parse_quote(data: bytes) -> TdxQuote:
    """Parse a TDX quote v4/v5; trailing zero padding is ignored. Raises TdxEvidenceError."""
    data = bytes(data)
    if len(data) > MAX_QUOTE_SIZE:
        raise TdxEvidenceError(
            f"a {len(data)}-byte TDX quote exceeds the {MAX_QUOTE_SIZE}-byte bound; "
            "this is not a quote", code="tdx-bad-length",
        )
    header = parse_header(data)
    body_type, body_size, body_offset = _parse_body_location(data, header)
    signed_end = body_offset + body_size
    _need(data, signed_end + 4, "TDX quote body", "the quote was cut off in transit")
    body = parse_body(data, body_offset, body_type)
    (sig_len,) = struct.unpack_from("<I", data, signed_end)
    end = signed_end + 4 + sig_len
    _need(data, end, "quote signature data", "the quote was cut off in transit")
    auth = parse_auth_data(data[signed_end + 4 : end])
    return TdxQuote(
        header=header, body_type=body_type, body_size=body_size, body_offset=body_offset,
        body=body, signed_region_end=signed_end, signature_data_len=sig_len, auth_data=auth,
        raw=data[:end], trailing_bytes=len(data) - end,
    )
