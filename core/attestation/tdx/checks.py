"""The stable ids of every TDX check, what each one means, and a small Check builder.

This table is the contract with the inspector view, the CLI's --json output and the tests.
"""

from __future__ import annotations

from core.attestation.verdict import Check, Stage, Status

CHECKS: dict[str, str] = {
    # verification (Stage.VERIFY): is this a genuine quote from an Intel TDX platform?
    "tdx.quote.parse": "the quote is a well-formed TDX quote (v4/v5, ECDSA P-256, TEE type TDX, certification data 6 then 5)",
    "tdx.quote.vendor": "the quoting enclave vendor ID is Intel's",
    "tdx.pck.chain": "the PCK certificate chain has the expected names and algorithms, each certificate is signed by the next, and it ends in a pinned root",
    "tdx.pck.validity": "every certificate of the PCK chain is within its validity period at the verification time",
    "tdx.pck.extension": "the PCK certificate carries a readable SGX extension (FMSPC, PCE-ID, TCB SVNs)",
    "tdx.root.crl": "the Intel Root CA CRL is signed by the root and revokes neither the PCK CA nor the TCB signing certificate",
    "tdx.pck.crl": "the PCK CRL is signed by the PCK's issuing CA and does not revoke the PCK certificate",
    "tdx.crl.validity": "the CRLs are current at the verification time",
    "tdx.signature": "the quote (header and TD report) is signed by its attestation key",
    "tdx.qe.signature": "the quoting enclave's report is signed by the platform's PCK key",
    "tdx.qe.binding": "the quoting enclave's report vouches for the attestation key (SHA-256 of key and auth data)",
    "tdx.tcbinfo.signature": "the TCB Info is signed by Intel's TCB signing key, which chains to a pinned root",
    "tdx.tcbinfo.validity": "the TCB Info and its signing certificate are current at the verification time",
    "tdx.qeidentity.signature": "the QE Identity is signed by Intel's TCB signing key, which chains to a pinned root",
    "tdx.qeidentity.validity": "the QE Identity and its signing certificate are current at the verification time",
    "tdx.tcbinfo.platform": "the TCB Info describes this platform (FMSPC and PCE-ID of the PCK certificate)",
    "tdx.tdx_module": "the TDX module is signed by Intel (MRSIGNERSEAM, SEAMATTRIBUTES match the TCB Info)",
    "tdx.qe.identity": "the quoting enclave is Intel's TD QE (MRSIGNER, ISVPRODID, MISCSELECT, ATTRIBUTES) and its TCB level",
    "tdx.tcb.status": "the platform's TCB level in the TCB Info (firmware, microcode, TDX module, QE)",
    "tdx.debug": "whether the TD runs in debug mode (its memory is then readable by the host)",
    # validation (Stage.VALIDATE), see policy.py
    "policy.mrtd": "the initial TD measurement (MRTD) is the expected one",
    "policy.rtmr0": "RTMR0 (firmware configuration) is the expected value",
    "policy.rtmr1": "RTMR1 (OS loader and kernel) is the expected value",
    "policy.rtmr2": "RTMR2 (kernel command line and initrd) is the expected value",
    "policy.rtmr3": "RTMR3 (runtime measurements) is the expected value",
    "policy.mrseam": "the TDX module measurement (MRSEAM) is the expected one",
    "policy.mrconfigid": "MRCONFIGID is the expected value",
    "policy.mrowner": "MROWNER is the expected value",
    "policy.mrownerconfig": "MROWNERCONFIG is the expected value",
    "policy.report_data": "REPORT_DATA equals the value bound to this session",
    "policy.debug": "the TD is not a debug TD",
    "policy.td_attributes": "TD_ATTRIBUTES equal the expected value",
    "policy.xfam": "XFAM equals the expected value and respects the fixed bits",
    "policy.tee_tcb_svn": "TEE_TCB_SVN reaches the minimum, component by component",
    "policy.qe_vendor": "the QE vendor ID is the expected one",
    "policy.qe_svn": "the quoting enclave's ISVSVN reaches the minimum",
    "policy.pce_svn": "the PCK certificate's PCESVN reaches the minimum",
    "policy.tcb_status": "the TCB status is one the policy accepts",
    "policy.advisories": "every security advisory affecting the platform is accepted or waived",
    "policy.tcb_eval_number": "the TCB Info is at least as recent as the policy requires (tcbEvaluationDataNumber)",
    "policy.crl": "revocation was checked as the policy requires",
}


def check(
    check_id: str,
    status: Status,
    explanation: str,
    expected: str = "",
    actual: str = "",
    stage: Stage = Stage.VERIFY,
) -> Check:
    assert check_id in CHECKS, check_id  # every id must be documented above
    return Check(check_id, status, explanation, expected, actual, stage)


def hexs(value: bytes | None) -> str:
    return value.hex() if value is not None else ""
