"""The individual rules of an SNP policy, each returning its Stage.VALIDATE checks.

One small function per idea; ``RULES`` is their order in a verdict. Rules whose option the policy
leaves unset return nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from core.attestation.snp.bits import SigningKey
from core.attestation.snp.checks import validate_check as check
from core.attestation.snp.report import AttestationReport
from core.attestation.snp.tcb import TcbVersion
from core.attestation.verdict import Check
from core.attestation.vtpm.algorithms import alg_name

if TYPE_CHECKING:
    from core.attestation.snp.policy import SnpPolicy, TcbMinimum

Rule = Callable[[AttestationReport, "SnpPolicy"], list[Check]]

_EXACT = (
    ("report_data", "REPORT_DATA", "the report was made for this session (fresh and bound to your connection)",
     "the report was not made for this connection: it may be replayed or belong to another session"),
    ("host_data", "HOST_DATA", "the host launched the VM with the expected host data",
     "the host launched the VM with different host data"),
    ("family_id", "FAMILY_ID", "the VM's ID block names the expected family", "the VM's ID block names another family"),
    ("image_id", "IMAGE_ID", "the VM's ID block names the expected image", "the VM's ID block names another image"),
    ("report_id", "REPORT_ID", "the report id is the expected one", "the report id differs"),
    ("report_id_ma", "REPORT_ID_MA", "the migration agent id is the expected one", "the migration agent id differs"),
)


def exact_fields(report: AttestationReport, policy: SnpPolicy) -> list[Check]:
    out = []
    for attr, label, good, bad in _EXACT:
        want = getattr(policy, attr)
        if want is None:
            continue
        got = getattr(report, attr)
        out.append(check(f"policy.{attr}", got == want, f"{label}: {good if got == want else bad}.",
                         expected=want.hex(), actual=got.hex()))
    return out


def measurement(report: AttestationReport, policy: SnpPolicy) -> list[Check]:
    if not policy.measurements:
        return []
    ok = report.measurement in policy.measurements
    return [check("policy.measurement", ok,
                  "The VM runs the software you expect (its launch measurement is on the allowed list)."
                  if ok else "The VM's launch measurement is not on the allowed list: it runs different "
                  "firmware, kernel or configuration than expected.",
                  expected=" | ".join(m.hex() for m in policy.measurements), actual=report.measurement.hex())]


def guest_policy(report: AttestationReport, policy: SnpPolicy) -> list[Check]:
    gp, pi = report.policy, report.platform_info
    out = [check("policy.debug", policy.debug_allowed or not gp.debug_allowed,
                 "The guest policy forbids debugging." if not gp.debug_allowed else
                 "The guest policy allows debugging, so the host could read this VM's memory.",
                 expected="debug allowed" if policy.debug_allowed else "debug off",
                 actual="debug allowed" if gp.debug_allowed else "debug off")]
    smt = gp.smt_allowed or pi.smt_enabled
    out.append(check("policy.smt", policy.smt_allowed or not smt,
                     "Simultaneous multithreading is off or allowed." if policy.smt_allowed or not smt else
                     "SMT is on, which the policy forbids (sibling threads can leak data through side channels).",
                     expected="allowed" if policy.smt_allowed else "off", actual="on" if smt else "off"))
    ma = gp.migrate_ma_allowed
    out.append(check("policy.migration_agent", policy.migration_agent_allowed or not ma,
                     "No migration agent can export this VM." if not ma else
                     "The guest allows a migration agent, which could move the VM's memory elsewhere."
                     + ("" if policy.migration_agent_allowed else " The policy forbids it."),
                     expected="allowed" if policy.migration_agent_allowed else "forbidden",
                     actual="allowed" if ma else "forbidden"))
    if policy.minimum_abi is not None:
        got = (gp.abi_major, gp.abi_minor)
        out.append(check("policy.abi", got >= policy.minimum_abi,
                         "The guest requires a recent enough firmware ABI." if got >= policy.minimum_abi
                         else "The guest accepts older firmware than the policy requires.",
                         expected=f">= {policy.minimum_abi[0]}.{policy.minimum_abi[1]}",
                         actual=f"{got[0]}.{got[1]}"))
    return out


def vmpl(report: AttestationReport, policy: SnpPolicy) -> list[Check]:
    out = []
    if policy.vmpl is not None:
        ok = report.vmpl == policy.vmpl
        out.append(check("policy.vmpl", ok,
                         f"The report came from the expected privilege level (VMPL {policy.vmpl})." if ok else
                         f"The report came from VMPL {report.vmpl}, not {policy.vmpl}: a different software "
                         "layer inside the VM produced it.", expected=str(policy.vmpl), actual=str(report.vmpl)))
    if policy.max_vmpl is not None:
        ok = report.vmpl <= policy.max_vmpl
        out.append(check("policy.vmpl", ok, f"The report came from VMPL {report.vmpl}"
                         + (", privileged enough." if ok else f", less privileged than VMPL {policy.max_vmpl}."),
                         expected=f"<= {policy.max_vmpl}", actual=str(report.vmpl)))
    return out


def _tcb_checks(prefix: str, label: str, tcb: TcbVersion, minimum: TcbMinimum | None) -> list[Check]:
    if minimum is None:
        return []
    have = tcb.components()
    out = []
    for name, want in minimum.items():
        got = have.get(name)
        ok = got is not None and got >= want
        out.append(check(f"{prefix}.{name}", ok,
                         f"The {label} {name} firmware level is recent enough." if ok else
                         f"The {label} {name} firmware level ({got if got is not None else 'absent'}) is older "
                         f"than required ({want}); the machine lacks security fixes.",
                         expected=f">= {want}", actual=str(got)))
    return out


def tcb(report: AttestationReport, policy: SnpPolicy) -> list[Check]:
    return (_tcb_checks("policy.tcb", "reported", report.reported_tcb, policy.minimum_tcb)
            + _tcb_checks("policy.launch_tcb", "launch", report.launch_tcb, policy.minimum_launch_tcb))


def firmware(report: AttestationReport, policy: SnpPolicy) -> list[Check]:
    out = []
    if policy.minimum_build is not None:
        ok = report.current_build >= policy.minimum_build
        out.append(check("policy.firmware.build", ok, "The firmware build is recent enough." if ok else
                         "The firmware build is older than required.", expected=f">= {policy.minimum_build}",
                         actual=str(report.current_build)))
    if policy.minimum_version is not None:
        got = (report.current_major, report.current_minor)
        ok = got >= policy.minimum_version
        out.append(check("policy.firmware.version", ok, "The firmware version is recent enough." if ok else
                         "The firmware version is older than required.",
                         expected=">= %d.%d" % policy.minimum_version, actual="%d.%d" % got))
    committed = (report.committed_tcb.raw, report.committed_major, report.committed_minor, report.committed_build)
    current = (report.current_tcb.raw, report.current_major, report.current_minor, report.current_build)
    if not policy.permit_provisional_firmware:
        ok = committed == current
        out.append(check("policy.firmware.provisional", ok,
                         "The running firmware is committed (it cannot be rolled back)." if ok else
                         "The machine runs provisional firmware that could still be rolled back.",
                         expected="committed == current", actual="equal" if ok else "different"))
    return out


def chip_and_keys(report: AttestationReport, policy: SnpPolicy) -> list[Check]:
    out = []
    if report.chip_id_masked and not policy.allow_masked_chip_id:
        out.append(check("policy.chip_id", False, "The report hides its chip id, which the policy forbids.",
                         expected="chip id shown", actual="masked"))
    elif policy.allowed_chip_ids:
        ok = report.chip_id in policy.allowed_chip_ids
        out.append(check("policy.chip_id", ok, "The report comes from an allowed machine." if ok else
                         "The report comes from a machine not on the allowed list.",
                         actual=report.chip_id.hex()))
    if policy.trusted_id_key_digests:
        ok = report.id_key_digest in policy.trusted_id_key_digests
        out.append(check("policy.id_key", ok, "The VM was launched with an ID block signed by a trusted key."
                         if ok else "The VM's ID block was signed by an untrusted key (or has none).",
                         actual=report.id_key_digest.hex()))
    if policy.require_author_key or policy.trusted_author_key_digests:
        ok = report.signer_info.author_key_en and (
            not policy.trusted_author_key_digests
            or report.author_key_digest in policy.trusted_author_key_digests)
        out.append(check("policy.author_key", ok, "The ID key is endorsed by a trusted author key." if ok
                         else "The ID key is not endorsed by a trusted author key.",
                         actual=report.author_key_digest.hex()))
    return out


def platform(report: AttestationReport, policy: SnpPolicy) -> list[Check]:
    out = []
    if policy.product is not None:
        got = report.product.value if report.product else "unknown"
        out.append(check("policy.product", report.product is policy.product,
                         f"The processor family is {got}, as expected." if report.product is policy.product
                         else f"The processor family is {got}, not {policy.product.value}.",
                         expected=policy.product.value, actual=got))
    vlek = report.signer_info.signing_key is SigningKey.VLEK
    out.append(check("policy.signing_key", policy.allow_vlek or not vlek,
                     "The report is signed by a chip-specific VCEK." if not vlek else
                     "The report is signed by a cloud provider's VLEK" + (", which the policy allows."
                     if policy.allow_vlek else ", but the policy requires a chip-specific VCEK."),
                     expected="VCEK or VLEK" if policy.allow_vlek else "VCEK", actual="VLEK" if vlek else "VCEK"))
    if policy.platform_info is not None:
        out.append(_platform_info(report.platform_info.raw, policy.platform_info))
    if policy.minimum_current_mit_vector is not None:
        vec = report.current_mit_vector or 0
        need = policy.minimum_current_mit_vector
        ok = vec & need == need
        out.append(check("policy.mitigations", ok, "Every required mitigation is active." if ok else
                         f"Required mitigations are missing (bits 0x{need & ~vec:x}).",
                         expected=f"contains 0x{need:x}", actual=f"0x{vec:x}"))
    if policy.minimum_guest_svn is not None:
        ok = report.guest_svn >= policy.minimum_guest_svn
        out.append(check("policy.guest_svn", ok, "The guest's security version is recent enough." if ok
                         else "The guest's security version is older than required.",
                         expected=f">= {policy.minimum_guest_svn}", actual=str(report.guest_svn)))
    return out


def reference_pcrs(report: AttestationReport, policy: SnpPolicy) -> list[Check]:
    """Never silent: PCR expectations cannot be met or failed by an SNP report alone."""
    if not policy.reference_pcrs:
        return []
    listed = ", ".join(f"{alg_name(p.bank)} PCR{p.index}" for p in policy.reference_pcrs)
    return [check("policy.pcr_values", False,
                  f"The policy lists {len(policy.reference_pcrs)} reference vTPM PCR value(s), but an SNP "
                  "report carries no PCRs, so they were not checked here. They are enforced only on the vTPM "
                  "path, against the verified TPM quotes of SNP-vTPM evidence.",
                  expected=listed, actual="not checked (no TPM quotes in an SNP report)", warn=True)]


_MAY_BE_ON = (0, 1, 7)        # SMT, TSME, TIO: on only if the policy's value allows them
_REQUIRED_IF_SET = (2, 3, 4, 5)  # ECC, RAPL_DIS, ciphertext hiding, alias check: required if set


def _platform_info(got: int, allowed: int) -> Check:
    problems = [f"bit {b} is on but not allowed" for b in _MAY_BE_ON if got >> b & 1 and not allowed >> b & 1]
    problems += [f"bit {b} is required but off" for b in _REQUIRED_IF_SET if allowed >> b & 1 and not got >> b & 1]
    return check("policy.platform_info", not problems,
                 "The platform's security features match the policy." if not problems else
                 "The platform's security features differ from the policy: " + "; ".join(problems) + ".",
                 expected=f"0x{allowed:x}", actual=f"0x{got:x}")


RULES: tuple[Rule, ...] = (measurement, exact_fields, guest_policy, vmpl, tcb, firmware, chip_and_keys, platform,
                          reference_pcrs)
