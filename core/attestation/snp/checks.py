"""The stable ids of every SNP check, and what each one establishes.

Ids never change meaning once released: the inspector, the CLI's --json output and the tests key
on them. Verification (Stage.VERIFY) ids start with "snp."; policy (Stage.VALIDATE) ids with "policy.".
"""

from __future__ import annotations

from core.attestation.verdict import Check, Stage, Status

VERIFY_CHECKS: dict[str, str] = {
    "snp.report.parse": "the report has its 1184 bytes, a known version (2-5), ECDSA P-384, reserved bytes zero",
    "snp.report.trailing": "a warning that bytes after the 1184-byte report were ignored (unsigned)",
    "snp.signer": "the report names a real signing key (VCEK or VLEK) and the certificate is of that kind",
    "snp.vek.extensions": "the VCEK/VLEK carries well-formed AMD extensions (SPLs, hwID or cspID)",
    "snp.product": "report, signing certificate and CA chain all name the same processor product",
    "snp.chain.ark": "the root (ARK) is AMD's, byte-identical to the copy pinned in this app",
    "snp.chain.ask": "the ASK is signed by the ARK with RSA-PSS SHA-384 and carries AMD's names",
    "snp.chain.asvk": "the ASVK (VLEK intermediate) is signed by the ARK and carries AMD's names",
    "snp.chain.vcek": "the VCEK is signed by the ASK (never the ASVK), P-384 key, AMD names",
    "snp.chain.vlek": "the VLEK is signed by the ASVK (never the ASK), P-384 key, AMD names",
    "snp.validity": "every certificate in the chain is valid at the verification time",
    "snp.crl": "AMD's revocation list, signed by the ARK and current, does not revoke the intermediate",
    "snp.signature": "the report's ECDSA P-384 signature (R, S little-endian) verifies with the leaf key",
    "snp.tcb.match": "the leaf's TCB extensions equal REPORTED_TCB, component by component",
    "snp.tcb.current": "the leaf's TCB is not newer than CURRENT_TCB in any component",
    "snp.chip_id": "the VCEK's hwID equals the report's CHIP_ID (first 8 bytes on Turin)",
    "snp.debug": "the guest policy forbids debugging (a warning only when no policy is applied)",
}

VALIDATE_CHECKS: dict[str, str] = {
    "policy.measurement": "MEASUREMENT is one of the allowed launch measurements",
    "policy.report_data": "REPORT_DATA equals the expected 64-byte binding value exactly",
    "policy.host_data": "HOST_DATA equals the expected value",
    "policy.family_id": "FAMILY_ID equals the expected value",
    "policy.image_id": "IMAGE_ID equals the expected value",
    "policy.debug": "the guest policy does not allow debugging",
    "policy.smt": "SMT is allowed by the policy if the guest or platform uses it",
    "policy.migration_agent": "a migration agent is allowed by the policy if the guest allows one",
    "policy.vmpl": "the report was requested at the expected VM privilege level",
    "policy.guest_svn": "GUEST_SVN is at least the minimum",
    "policy.abi": "the guest's minimum firmware ABI is at least the required one",
    "policy.tcb.<component>": "REPORTED_TCB's component is at least the minimum",
    "policy.launch_tcb.<component>": "LAUNCH_TCB's component is at least the minimum",
    "policy.firmware.build": "CURRENT_BUILD is at least the minimum build",
    "policy.firmware.version": "CURRENT_MAJOR.CURRENT_MINOR is at least the minimum version",
    "policy.firmware.provisional": "the committed firmware equals the running one unless provisional is allowed",
    "policy.chip_id": "CHIP_ID is one of the allowed chips (and not masked when masking is forbidden)",
    "policy.id_key": "ID_KEY_DIGEST is one of the trusted ID keys",
    "policy.author_key": "the author key is enabled and its digest is trusted",
    "policy.product": "the processor product is the expected one",
    "policy.signing_key": "the signing key kind is allowed (VCEK required unless VLEK allowed)",
    "policy.mitigations": "the current mitigation vector contains every required bit (v5)",
    "policy.pcr_values": "a warning that the policy's vTPM reference PCRs were not checked (no quotes)",
    "policy.crl": "a revocation list was checked when the policy requires one",
}


def verify_check(check_id: str, ok: bool | None, explanation: str, *, expected: str = "",
                 actual: str = "", warn: bool = False) -> Check:
    """A VERIFY check: ok True -> PASS, False -> FAIL (or WARN if ``warn``), None -> SKIP."""
    return _check(check_id, ok, explanation, expected, actual, warn, Stage.VERIFY)


def validate_check(check_id: str, ok: bool | None, explanation: str, *, expected: str = "",
                   actual: str = "", warn: bool = False) -> Check:
    return _check(check_id, ok, explanation, expected, actual, warn, Stage.VALIDATE)


def _check(check_id: str, ok: bool | None, explanation: str, expected: str, actual: str,
           warn: bool, stage: Stage) -> Check:
    if ok is None:
        status = Status.SKIP
    elif ok:
        status = Status.PASS
    else:
        status = Status.WARN if warn else Status.FAIL
    return Check(id=check_id, status=status, explanation=explanation, expected=expected,
                 actual=actual, stage=stage)
