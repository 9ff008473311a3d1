"""What an SNP report must say to be acceptable: ``SnpPolicy`` and ``validate_snp`` (§2.8 validate, §6).

Validation never re-checks authenticity; it reads the parsed report and appends Stage.VALIDATE
checks. Byte fields are exact matches and only checked when the policy sets them. TCBs are
compared component by component.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.attestation.snp.bits import SigningKey
from core.attestation.snp.policy_rules import RULES
from core.attestation.snp.report import AttestationReport, parse_report
from core.attestation.snp.tcb import Product, TcbVersion
from core.attestation.snp.checks import validate_check
from core.attestation.verdict import Status, Verdict


@dataclass(frozen=True, slots=True)
class TcbMinimum:
    """Minimum SPL per component; None leaves a component unchecked."""

    bootloader: int | None = None
    tee: int | None = None
    snp: int | None = None
    microcode: int | None = None
    fmc: int | None = None

    def items(self) -> list[tuple[str, int]]:
        return [(name, value) for name in ("fmc", "bootloader", "tee", "snp", "microcode")
                if (value := getattr(self, name)) is not None]

    @classmethod
    def of(cls, tcb: TcbVersion) -> TcbMinimum:
        return cls(bootloader=tcb.bootloader, tee=tcb.tee, snp=tcb.snp, microcode=tcb.microcode,
                   fmc=tcb.fmc)


@dataclass(frozen=True, slots=True)
class ReferencePcr:
    """One expected vTPM PCR value (legacy Cocos ``pcr_values``); checked only against TPM quotes."""

    bank: int     # TPM_ALG_ID of the PCR bank, e.g. 0x000B for SHA-256
    index: int    # 0-23
    value: bytes  # the digest, as long as the bank's hash


@dataclass(frozen=True, slots=True)
class SnpPolicy:
    measurements: tuple[bytes, ...] = ()          # allowed launch digests; empty = unchecked
    report_data: bytes | None = None              # the expected 64-byte binding, exact
    host_data: bytes | None = None
    family_id: bytes | None = None
    image_id: bytes | None = None
    report_id: bytes | None = None
    report_id_ma: bytes | None = None
    minimum_tcb: TcbMinimum | None = None         # against REPORTED_TCB
    minimum_launch_tcb: TcbMinimum | None = None
    minimum_build: int | None = None
    minimum_version: tuple[int, int] | None = None  # (major, minor) of the running firmware
    permit_provisional_firmware: bool = True
    minimum_guest_svn: int | None = None
    minimum_abi: tuple[int, int] | None = None    # the guest policy's ABI major.minor floor
    vmpl: int | None = None                       # exact (Cocos: 2)
    max_vmpl: int | None = None
    debug_allowed: bool = False
    smt_allowed: bool = True
    migration_agent_allowed: bool = False
    platform_info: int | None = None              # the most permissive acceptable PLATFORM_INFO
    allowed_chip_ids: tuple[bytes, ...] = ()
    allow_masked_chip_id: bool = True
    trusted_id_key_digests: tuple[bytes, ...] = ()
    require_author_key: bool = False
    trusted_author_key_digests: tuple[bytes, ...] = ()
    product: Product | None = None
    allow_vlek: bool = False                      # VCEK required unless True
    minimum_current_mit_vector: int | None = None
    require_crl: bool = False
    # Sorted by (bank, index). A bare SNP report has no PCRs: validate_snp only reports that these
    # were not checked; the vTPM verifier compares them with the PCRs of verified quotes.
    reference_pcrs: tuple[ReferencePcr, ...] = ()

    def reference_pcr_map(self) -> dict[int, dict[int, bytes]]:
        """``reference_pcrs`` as {bank: {index: value}}, the form the vTPM verifier takes."""
        out: dict[int, dict[int, bytes]] = {}
        for pcr in self.reference_pcrs:
            out.setdefault(pcr.bank, {})[pcr.index] = pcr.value
        return out

    def to_json(self) -> bytes:
        from core.attestation.snp.policy_json import policy_to_json
        return policy_to_json(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> SnpPolicy:
        from core.attestation.snp.policy_json import policy_from_json
        return policy_from_json(data)

    @classmethod
    def from_legacy_json(cls, data: bytes) -> SnpPolicy:
        """Import a go-sev-guest ``check.Config`` or legacy Cocos policy file (§6.1, §6.3)."""
        from core.attestation.snp.policy_legacy import policy_from_legacy_json
        return policy_from_legacy_json(data)

    @classmethod
    def from_report(cls, report: AttestationReport) -> SnpPolicy:
        """A policy that pins everything this report shows (a starting point to edit)."""
        provisional = (report.committed_tcb.raw != report.current_tcb.raw
                       or (report.committed_build, report.committed_minor, report.committed_major)
                       != (report.current_build, report.current_minor, report.current_major))
        return cls(
            measurements=(report.measurement,), report_data=report.report_data,
            host_data=report.host_data, family_id=report.family_id, image_id=report.image_id,
            minimum_tcb=TcbMinimum.of(report.reported_tcb),
            minimum_launch_tcb=TcbMinimum.of(report.launch_tcb),
            minimum_build=report.current_build,
            minimum_version=(report.current_major, report.current_minor),
            permit_provisional_firmware=provisional, minimum_guest_svn=report.guest_svn,
            minimum_abi=(report.policy.abi_major, report.policy.abi_minor), vmpl=report.vmpl,
            debug_allowed=report.policy.debug_allowed,
            smt_allowed=report.policy.smt_allowed or report.platform_info.smt_enabled,
            migration_agent_allowed=report.policy.migrate_ma_allowed,
            platform_info=report.platform_info.raw,
            allowed_chip_ids=() if report.chip_id_masked else (report.chip_id,),
            allow_masked_chip_id=report.chip_id_masked,
            trusted_id_key_digests=(report.id_key_digest,) if any(report.id_key_digest) else (),
            require_author_key=report.signer_info.author_key_en,
            trusted_author_key_digests=((report.author_key_digest,)
                                        if report.signer_info.author_key_en else ()),
            product=report.product,
            allow_vlek=report.signer_info.signing_key is SigningKey.VLEK,
            minimum_current_mit_vector=report.current_mit_vector or None,
        )

    def with_report_data(self, report_data: bytes) -> SnpPolicy:
        """The same policy expecting a binding computed for this session."""
        return replace(self, report_data=report_data)


def validate_snp(report: AttestationReport | bytes, policy: SnpPolicy,
                 verdict: Verdict | None = None) -> Verdict:
    """Append the policy's checks (Stage.VALIDATE) to ``verdict`` and mark the policy applied.

    For a v2 report (no CPUID bytes) the product resolved during verification (the
    "snp.product" check in ``verdict``) decodes the TCB layout.
    """
    verdict = verdict if verdict is not None else Verdict(platform="snp")
    if not isinstance(report, AttestationReport):
        report = parse_report(report, product=policy.product)
    if report.product_source not in ("cpuid",):
        resolved = _product_from_verdict(verdict) or policy.product
        if resolved is not None and resolved is not report.product:
            report = parse_report(report.raw, product=resolved)
    for rule in RULES:
        verdict.extend(rule(report, policy))
    if policy.require_crl:
        crl = verdict.get("snp.crl")
        ok = crl is not None and crl.status is Status.PASS
        verdict.add(validate_check("policy.crl", ok, "AMD's revocation list was checked." if ok else
                                   "The policy requires a revocation check, but none passed "
                                   "(no CRL was available or it failed)."))
    verdict.policy_applied = True
    return verdict


def _product_from_verdict(verdict: Verdict) -> Product | None:
    check = verdict.get("snp.product")
    if check is None or check.status is not Status.PASS:
        return None
    return Product.from_name(check.expected)
