"""TCB level matching (ATTESTATION.md §3.7): which TCB level a quote's platform is at.

Everything is compared component by component, never as one integer. The result is data
(``TcbEvaluation``); the verifier turns it into checks and the policy decides what to accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .pck import PckExtensions
from .quote import QeReport, TdQuoteBody
from .tcb_info import IsvTcbLevel, QeIdentity, TcbInfo, TcbLevel

NO_MATCHING_TCB_LEVEL = "NoMatchingTcbLevel"
_OUT_OF_DATE = {"OutOfDate", "OutOfDateConfigurationNeeded"}
_CONFIG = {"ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded", "OutOfDateConfigurationNeeded"}
_SW_HARDENING = {"SWHardeningNeeded", "ConfigurationAndSWHardeningNeeded"}


@dataclass(frozen=True, slots=True)
class TcbEvaluation:
    status: str                        # combined: a TCB status or NoMatchingTcbLevel
    advisory_ids: tuple[str, ...]
    platform_status: str
    platform_level: TcbLevel | None
    module_identity_id: str | None     # "TDX_03" etc. for TDX 1.5+ modules
    module_status: str | None
    qe_status: str | None
    tcb_date: datetime | None
    tcb_evaluation_data_number: int
    pck_pce_svn: int

    @property
    def matched(self) -> bool:
        return self.status not in (NO_MATCHING_TCB_LEVEL, "Revoked")


def combine_statuses(*statuses: str | None) -> str:
    """Fold platform, module and QE statuses into one, keeping the worst of each dimension."""
    present = {s for s in statuses if s is not None}
    if NO_MATCHING_TCB_LEVEL in present:
        return NO_MATCHING_TCB_LEVEL
    if "Revoked" in present:
        return "Revoked"
    config = bool(present & _CONFIG)
    if present & _OUT_OF_DATE:
        return "OutOfDateConfigurationNeeded" if config else "OutOfDate"
    sw = bool(present & _SW_HARDENING)
    if config:
        return "ConfigurationAndSWHardeningNeeded" if sw else "ConfigurationNeeded"
    return "SWHardeningNeeded" if sw else "UpToDate"


def _all_ge(have: tuple[int, ...] | bytes, need: tuple[int, ...], start: int = 0) -> bool:
    return all(have[i] >= need[i] for i in range(start, len(need)))


def match_platform_level(tcb_info: TcbInfo, pck: PckExtensions, tee_tcb_svn: bytes) -> TcbLevel | None:
    """The first level (in served order) that the PCK TCB and TEE_TCB_SVN both reach."""
    # A TDX 1.5+ module reports its minor version in TEE_TCB_SVN[1]; the module's own SVN is
    # then judged by tdxModuleIdentities, so only components from index 2 are compared here.
    tdx_start = 2 if tee_tcb_svn[1] > 0 else 0
    for level in tcb_info.tcb_levels:
        if (
            _all_ge(pck.tcb.sgx_tcb_components, level.sgx_tcb_components)
            and pck.tcb.pce_svn >= level.pce_svn
            and _all_ge(tee_tcb_svn, level.tdx_tcb_components, tdx_start)
        ):
            return level
    return None


def module_identity_id(tee_tcb_svn: bytes) -> str | None:
    return f"TDX_{tee_tcb_svn[1]:02X}" if tee_tcb_svn[1] > 0 else None


def match_module_level(tcb_info: TcbInfo, tee_tcb_svn: bytes) -> tuple[str | None, IsvTcbLevel | None]:
    """(identity id, first level with isvsvn <= TEE_TCB_SVN[0]) for TDX 1.5+ modules."""
    wanted = module_identity_id(tee_tcb_svn)
    if wanted is None:
        return None, None
    identity = next((m for m in tcb_info.tdx_module_identities if m.id.upper() == wanted), None)
    if identity is None:
        return wanted, None
    return wanted, next((lv for lv in identity.tcb_levels if lv.isv_svn <= tee_tcb_svn[0]), None)


def match_qe_level(qe_identity: QeIdentity, qe_report: QeReport) -> IsvTcbLevel | None:
    return next((lv for lv in qe_identity.tcb_levels if lv.isv_svn <= qe_report.isv_svn), None)


def _masked_equal(value: bytes, mask: bytes, expected: bytes) -> bool:
    return len(value) == len(mask) == len(expected) and all(
        v & m == e for v, m, e in zip(value, mask, expected)
    )


def platform_identity_problems(tcb_info: TcbInfo, pck: PckExtensions) -> list[str]:
    """FMSPC and PCE-ID of the PCK certificate must be those the TCB Info describes."""
    problems = []
    if pck.fmspc != tcb_info.fmspc:
        problems.append(f"FMSPC {pck.fmspc.hex()} (PCK) vs {tcb_info.fmspc.hex()} (TCB Info)")
    if pck.pce_id != tcb_info.pce_id:
        problems.append(f"PCE-ID {pck.pce_id.hex()} (PCK) vs {tcb_info.pce_id.hex()} (TCB Info)")
    return problems


def module_problems(tcb_info: TcbInfo, body: TdQuoteBody) -> list[str]:
    """MRSIGNERSEAM and SEAMATTRIBUTES against ``tdxModule`` (§3.7 step 4)."""
    module = tcb_info.tdx_module
    problems = []
    if body.mr_signer_seam != module.mrsigner:
        problems.append(f"MRSIGNERSEAM {body.mr_signer_seam.hex()} is not {module.mrsigner.hex()}")
    if not _masked_equal(body.seam_attributes, module.attributes_mask, module.attributes):
        problems.append(
            f"SEAMATTRIBUTES {body.seam_attributes.hex()} under mask {module.attributes_mask.hex()} "
            f"is not {module.attributes.hex()}"
        )
    return problems


def qe_identity_problems(qe_identity: QeIdentity, report: QeReport) -> list[str]:
    """The QE report must be Intel's TD quoting enclave (§3.7 step 5)."""
    problems = []
    if report.mr_signer != qe_identity.mrsigner:
        problems.append(f"MRSIGNER {report.mr_signer.hex()} is not {qe_identity.mrsigner.hex()}")
    if report.isv_prod_id != qe_identity.isvprodid:
        problems.append(f"ISVPRODID {report.isv_prod_id} is not {qe_identity.isvprodid}")
    misc = report.misc_select.to_bytes(4, "little")
    # miscselect is served as big-endian hex of the 32-bit value
    if not _masked_equal(misc[::-1], qe_identity.miscselect_mask, qe_identity.miscselect):
        problems.append(f"MISCSELECT 0x{report.misc_select:08x} does not match the identity")
    if not _masked_equal(report.attributes, qe_identity.attributes_mask, qe_identity.attributes):
        problems.append(f"ATTRIBUTES {report.attributes.hex()} do not match the identity")
    return problems


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def evaluate_tcb(
    body: TdQuoteBody,
    pck: PckExtensions,
    tcb_info: TcbInfo,
    qe_report: QeReport | None = None,
    qe_identity: QeIdentity | None = None,
) -> TcbEvaluation:
    """The TCB status of a quote's platform, TDX module and (when given) quoting enclave."""
    level = match_platform_level(tcb_info, pck, body.tee_tcb_svn)
    platform = level.tcb_status if level else NO_MATCHING_TCB_LEVEL
    module_id, module_level = match_module_level(tcb_info, body.tee_tcb_svn)
    module = None
    if module_id is not None:
        module = module_level.tcb_status if module_level else NO_MATCHING_TCB_LEVEL
    qe_level = None
    qe = None
    if qe_identity is not None and qe_report is not None:
        qe_level = match_qe_level(qe_identity, qe_report)
        qe = qe_level.tcb_status if qe_level else NO_MATCHING_TCB_LEVEL
    advisories = [
        *(level.advisory_ids if level else ()),
        *(module_level.advisory_ids if module_level else ()),
        *(qe_level.advisory_ids if qe_level else ()),
    ]
    return TcbEvaluation(
        status=combine_statuses(platform, module, qe),
        advisory_ids=_unique(advisories),
        platform_status=platform,
        platform_level=level,
        module_identity_id=module_id,
        module_status=module,
        qe_status=qe,
        tcb_date=level.tcb_date if level else None,
        tcb_evaluation_data_number=tcb_info.tcb_evaluation_data_number,
        pck_pce_svn=pck.tcb.pce_svn,
    )
