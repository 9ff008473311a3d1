"""Parse an SNP ATTESTATION_REPORT (versions 2-5) into an immutable object (ATTESTATION.md §2.1-§2.4).

The parser enforces the format rules (size, version, signature algorithm, must-be-zero ranges,
policy bit 17, signer-info) and raises ``SnpReportError`` with a message a person can act on.
Authenticity is not decided here: see ``verify.verify_snp``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from core.attestation.snp.bits import (
    POLICY_MBZ_MASK, POLICY_RESERVED_ONE, SIGNER_MBZ_MASK, GuestPolicy, PlatformInfo, SignerInfo,
)
from core.attestation.snp.fields import (
    FIELD_BY_NAME, REPORT_SIZE, SIGNED_END, SUPPORTED_VERSIONS, mbz_ranges,
)
from core.attestation.snp.tcb import Product, TcbVersion, product_from_cpuid
from core.errors import EvidenceError

SIG_ALGO_ECDSA_P384_SHA384 = 1


class SnpReportError(EvidenceError):
    """The bytes are not a well-formed SNP attestation report."""

    code = "snp-report"


@dataclass(frozen=True, slots=True)
class AttestationReport:
    """Every field of the report by its spec name; bit fields and TCBs decoded."""

    raw: bytes
    version: int
    guest_svn: int
    policy: GuestPolicy
    family_id: bytes
    image_id: bytes
    vmpl: int
    signature_algo: int
    current_tcb: TcbVersion
    platform_info: PlatformInfo
    signer_info: SignerInfo
    report_data: bytes
    measurement: bytes
    host_data: bytes
    id_key_digest: bytes
    author_key_digest: bytes
    report_id: bytes
    report_id_ma: bytes
    reported_tcb: TcbVersion
    cpuid_fam_id: int | None
    cpuid_mod_id: int | None
    cpuid_step: int | None
    chip_id: bytes
    committed_tcb: TcbVersion
    current_build: int
    current_minor: int
    current_major: int
    committed_build: int
    committed_minor: int
    committed_major: int
    launch_tcb: TcbVersion
    launch_mit_vector: int | None
    current_mit_vector: int | None
    signature_r: int
    signature_s: int
    product: Product | None
    product_source: str  # "cpuid" | "given" | "chip-id" | "" (unknown)
    # Bytes that followed the report in the evidence (Azure and some tools append data); they are
    # not signed, not part of ``raw`` and never read, but a verdict says they were there (§1.3).
    trailing_bytes: int = 0

    @property
    def signed_bytes(self) -> bytes:
        """The exact bytes the signature covers: report[0x000:0x2A0]."""
        return self.raw[:SIGNED_END]

    @property
    def chip_id_masked(self) -> bool:
        return not any(self.chip_id)

    @property
    def hw_id(self) -> bytes:
        """The part of CHIP_ID a VCEK's hwID names: 8 bytes on Turin, all 64 otherwise."""
        if self.product is not None and self.product.turin_layout:
            return self.chip_id[:8]
        return self.chip_id


def _field(data: bytes, name: str) -> bytes:
    spec = FIELD_BY_NAME[name]
    return data[spec.offset:spec.end]


def _u(data: bytes, name: str) -> int:
    return int.from_bytes(_field(data, name), "little")


def _check_format(data: bytes) -> int:
    if len(data) < REPORT_SIZE:
        raise SnpReportError(
            f"an SNP attestation report is exactly {REPORT_SIZE} bytes, but this one has {len(data)}; "
            "the evidence is truncated or is not a raw report")
    version = struct.unpack_from("<I", data, 0)[0]
    if version not in SUPPORTED_VERSIONS:
        raise SnpReportError(
            f"unsupported SNP report version {version}; this app reads versions 2 to 5")
    algo = _u(data, "signature_algo")
    if algo != SIG_ALGO_ECDSA_P384_SHA384:
        raise SnpReportError(
            f"unknown signature algorithm {algo} in the report; only 1 (ECDSA P-384 with SHA-384) "
            "is defined, so the report cannot be checked")
    for start, end in mbz_ranges(version):
        if any(data[start:end]):
            first = next(i for i in range(start, end) if data[i])
            raise SnpReportError(
                f"reserved byte 0x{first:03X} of the report is not zero (range 0x{start:03X}-"
                f"0x{end - 1:03X} must be zero in version {version}); the report is malformed or altered")
    policy = _u(data, "policy")
    if not policy & POLICY_RESERVED_ONE or policy & POLICY_MBZ_MASK:
        raise SnpReportError(
            f"guest policy 0x{policy:x} is malformed (bit 17 must be 1 and bits 26-63 must be 0)")
    signer = _u(data, "signer_info")
    if signer & SIGNER_MBZ_MASK:
        raise SnpReportError(f"signer info 0x{signer:x} has reserved bits 5-31 set")
    key_sel = (signer >> 2) & 0x7
    if key_sel not in (0, 1, 7):
        raise SnpReportError(
            f"signer info names reserved signing key {key_sel}; only VCEK (0), VLEK (1) and none (7) exist")
    return version


def _infer_product(data: bytes, version: int, given: Product | None) -> tuple[Product | None, str]:
    if version >= 3:
        from_cpuid = product_from_cpuid(_u(data, "cpuid_fam_id"), _u(data, "cpuid_mod_id"))
        if from_cpuid is not None:
            return from_cpuid, "cpuid"
    if given is not None:
        return given, "given"
    chip_id = _field(data, "chip_id")
    if any(chip_id[:8]) and not any(chip_id[8:]):
        return Product.TURIN, "chip-id"
    return None, ""


def parse_report(data: bytes, *, product: Product | None = None) -> AttestationReport:
    """Parse and format-check a report: the first 1184 bytes of ``data`` (§1.3: at least 1184).

    Bytes after the report are ignored and counted in ``trailing_bytes``; fewer than 1184 bytes
    is an error. ``product`` is used for v2 reports, which do not name their product; the CPUID
    bytes of a v3+ report win over it. Raises ``SnpReportError`` (an ``EvidenceError``) on bad input.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SnpReportError(f"an SNP report must be bytes, not {type(data).__name__}")
    data = bytes(data)
    trailing = max(len(data) - REPORT_SIZE, 0)
    version = _check_format(data)
    data = data[:REPORT_SIZE]
    prod, source = _infer_product(data, version, product)

    def tcb(name: str) -> TcbVersion:
        return TcbVersion.decode(_u(data, name), prod)

    has_cpuid = version >= 3
    has_mit = version >= 5
    return AttestationReport(
        raw=data, version=version, guest_svn=_u(data, "guest_svn"),
        policy=GuestPolicy.decode(_u(data, "policy")),
        family_id=_field(data, "family_id"), image_id=_field(data, "image_id"),
        vmpl=_u(data, "vmpl"), signature_algo=_u(data, "signature_algo"),
        current_tcb=tcb("current_tcb"),
        platform_info=PlatformInfo.decode(_u(data, "platform_info")),
        signer_info=SignerInfo.decode(_u(data, "signer_info")),
        report_data=_field(data, "report_data"), measurement=_field(data, "measurement"),
        host_data=_field(data, "host_data"), id_key_digest=_field(data, "id_key_digest"),
        author_key_digest=_field(data, "author_key_digest"), report_id=_field(data, "report_id"),
        report_id_ma=_field(data, "report_id_ma"), reported_tcb=tcb("reported_tcb"),
        cpuid_fam_id=_u(data, "cpuid_fam_id") if has_cpuid else None,
        cpuid_mod_id=_u(data, "cpuid_mod_id") if has_cpuid else None,
        cpuid_step=_u(data, "cpuid_step") if has_cpuid else None,
        chip_id=_field(data, "chip_id"), committed_tcb=tcb("committed_tcb"),
        current_build=_u(data, "current_build"), current_minor=_u(data, "current_minor"),
        current_major=_u(data, "current_major"), committed_build=_u(data, "committed_build"),
        committed_minor=_u(data, "committed_minor"), committed_major=_u(data, "committed_major"),
        launch_tcb=tcb("launch_tcb"),
        launch_mit_vector=_u(data, "launch_mit_vector") if has_mit else None,
        current_mit_vector=_u(data, "current_mit_vector") if has_mit else None,
        signature_r=_u(data, "signature_r"), signature_s=_u(data, "signature_s"),
        product=prod, product_source=source, trailing_bytes=trailing,
    )
