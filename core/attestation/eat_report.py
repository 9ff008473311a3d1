"""Route an EAT's ``raw_report`` to the right hardware parser (ATTESTATION.md §1.2-§1.3).

The result names the hardware evidence (SNP report or TDX quote) and the REPORT_DATA it
carries, which is what the session binding is checked against. Authenticity of the evidence is
decided by the SNP/TDX verifiers, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.attestation.eat_proto import ProtobufError
from core.attestation.eat_wrappers import (
    SevSnpAttestation, TpmAttestation, parse_sevsnp_attestation, parse_tpm_attestation,
)
from core.attestation.snp.fields import REPORT_SIZE
from core.attestation.snp.report import AttestationReport, parse_report
from core.attestation.snp.tcb import Product
from core.attestation.tdx.quote import TdxQuote, parse_quote
from core.errors import EvidenceError


class UnsupportedEvidence(EvidenceError):
    """Evidence of a platform or format this app cannot check against hardware roots."""

    code = "unsupported-evidence"


@dataclass(frozen=True, slots=True)
class HardwareReport:
    """The hardware evidence inside an EAT, parsed by the platform's own parser."""

    platform: str                          # "snp" | "snp-vtpm" | "tdx"
    evidence: bytes                        # SNP: the 1184-byte report; TDX: the raw quote
    report_data: bytes                     # the 64 bytes the guest bound into the evidence
    snp_report: AttestationReport | None = None
    tdx_quote: TdxQuote | None = None
    snp_attestation: SevSnpAttestation | None = None  # certificates as carried (ASK/ARK swapped)
    tpm: TpmAttestation | None = None      # SNP-vTPM: the AK whose bytes enter REPORT_DATA

    @property
    def ak_pub(self) -> bytes:
        return self.tpm.ak_pub if self.tpm else b""


def _snp(attestation: SevSnpAttestation) -> AttestationReport:
    return parse_report(attestation.report, product=Product.from_name(attestation.product_name))


def _route_snp(raw: bytes) -> HardwareReport:
    try:
        attestation = parse_sevsnp_attestation(raw)
    except ProtobufError:
        # §1.3: the extractor also accepts a plain report of at least 1184 bytes.
        if len(raw) < REPORT_SIZE:
            raise
        report = parse_report(raw)  # trailing bytes are counted and reported by verify_snp
        return HardwareReport("snp", report.raw, report.report_data, snp_report=report)
    report = _snp(attestation)
    return HardwareReport("snp", report.raw, report.report_data, snp_report=report,
                          snp_attestation=attestation)


def _route_snp_vtpm(raw: bytes) -> HardwareReport:
    tpm = parse_tpm_attestation(raw)
    if tpm.sev_snp is None:
        raise UnsupportedEvidence("the SNP-vTPM evidence holds no SNP attestation (field 8), so "
                                  "nothing in it is rooted in AMD hardware; refuse it")
    if not tpm.ak_pub:
        raise UnsupportedEvidence("the SNP-vTPM evidence has no attestation key (ak_pub), so its "
                                  "REPORT_DATA cannot be recomputed; refuse it")
    report = _snp(tpm.sev_snp)
    return HardwareReport("snp-vtpm", report.raw, report.report_data, snp_report=report,
                          snp_attestation=tpm.sev_snp, tpm=tpm)


def _route_tdx(raw: bytes) -> HardwareReport:
    quote = parse_quote(raw)
    return HardwareReport("tdx", quote.raw, quote.body.report_data, tdx_quote=quote)


_ROUTES = {"SNP": _route_snp, "SNP-vTPM": _route_snp_vtpm, "TDX": _route_tdx}


def hardware_report(platform_type: str, raw_report: bytes) -> HardwareReport:
    """Parse ``raw_report`` for ``platform_type``. Raises an EvidenceError subclass."""
    if raw_report[:1] == b"{":
        raise UnsupportedEvidence(
            "the hardware evidence is attestation-agent JSON (the attestation service runs with the "
            "CoCo backend); this app cannot check that format, so the agent cannot be trusted")
    route = _ROUTES.get(platform_type)
    if route is None:
        raise UnsupportedEvidence(
            f"the EAT is for platform {platform_type!r}, whose evidence has no hardware REPORT_DATA "
            "this app can check (supported: SNP, SNP-vTPM, TDX); the agent cannot be trusted")
    if not raw_report:
        raise UnsupportedEvidence(f"the {platform_type} EAT carries no raw_report, so there is no "
                                  "hardware evidence to check; the agent cannot be trusted")
    return route(raw_report)
