"""The vTPM half of SNP-vTPM evidence read from a file (ATTESTATION.md §4.1).

A file carries the attestation key, the quotes and the event log, but not the session they were
made for. So every step that needs no session value runs (AK parse, quote signatures and
structure, PCR selection and digest, event-log replay, boot PCRs), and the steps that need one
run only when the user supplies it: the quote nonce (freshness), the binding prefix under
REPORT_DATA (the AK lives in this TEE) and the manifest (PCR16). Without them those checks are
SKIP with a note saying what to supply, never a FAIL the evidence did not earn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from core.attestation.evidence import Evidence
from core.attestation.verdict import Check, Status, Verdict
from core.attestation.vtpm.verify import BINDING_PREFIX_SIZE, tee_nonce64, verify_vtpm
from core.cocos.computation import Computation
from core.errors import BadInput

VTPM_NONCE_SIZE = 32   # the Attestation RPC zero-pads vtpmNonce to 32 bytes; aTLS uses a SHA-256

NONCE_CHECK = "vtpm.quote.nonce"
PCR_VALUES_NOTE = "policy.pcr_values"  # validate_snp's warning that reference PCRs need vTPM quotes
BINDING_CHECK = "vtpm.ak.binding"


@dataclass(frozen=True, slots=True)
class VtpmExpectations:
    """What the verifier knows about the session that produced SNP-vTPM evidence.

    ``nonce``: the quotes' extraData (the RPC's vtpmNonce zero-padded to 32, or SHA-256 of the aTLS
    exported value). ``binding``: the 64-byte prefix hashed with the AK into REPORT_DATA (the RPC's
    teeNonce zero-padded to 64, or SHA-512 of the aTLS binding). ``computation``: enables the
    PCR16 == manifest check. Each one left as None makes its check a SKIP.
    """

    nonce: bytes | None = None
    binding: bytes | None = None
    computation: Computation | None = None
    #: {TPM hash id: {PCR index: value}} the quoted PCRs must hold (a policy's reference PCRs)
    reference_pcrs: Mapping[int, Mapping[int, bytes]] | None = None

    def __post_init__(self) -> None:
        if self.binding is not None and len(self.binding) != BINDING_PREFIX_SIZE:
            raise BadInput(f"the binding value must be {BINDING_PREFIX_SIZE} bytes (SHA-512 of the aTLS binding, "
                           f"or the TEE nonce zero-padded); got {len(self.binding)}")

    @classmethod
    def from_request(cls, *, vtpm_nonce: bytes | None = None, tee_nonce: bytes | None = None,
                     computation: Computation | None = None) -> VtpmExpectations:
        """From the nonces of an Attestation RPC request, padded as the agent pads them."""
        if vtpm_nonce is not None and len(vtpm_nonce) > VTPM_NONCE_SIZE:
            raise BadInput(f"a vTPM nonce has at most {VTPM_NONCE_SIZE} bytes; this one has {len(vtpm_nonce)}")
        return cls(nonce=None if vtpm_nonce is None else bytes(vtpm_nonce).ljust(VTPM_NONCE_SIZE, b"\0"),
                   binding=None if tee_nonce is None else tee_nonce64(tee_nonce), computation=computation)


def check_vtpm_evidence(evidence: Evidence, verdict: Verdict, expect: VtpmExpectations) -> None:
    """Append the vTPM checks for SNP-vTPM ``evidence`` to ``verdict``."""
    raw = evidence.eat.raw_report if evidence.eat is not None else b""
    scratch = verify_vtpm(raw, expected_nonce=expect.nonce or b"", snp_report=evidence.report,
                          binding_hash=expect.binding, computation=expect.computation,
                          reference_pcrs=expect.reference_pcrs or None, verdict=Verdict(platform="snp-vtpm"))
    for check in scratch.checks:
        verdict.add(_unless_unknown(check, expect))
    if expect.reference_pcrs:
        # the policy's reference PCRs were checked against signed quotes: drop the "not checked" note
        verdict.checks[:] = [c for c in verdict.checks if c.id != PCR_VALUES_NOTE]
    if expect.computation is not None or expect.reference_pcrs:
        verdict.policy_applied = True  # the manifest is an expectation the evidence was judged against


def _unless_unknown(check: Check, expect: VtpmExpectations) -> Check:
    """A check whose session value the user did not give becomes a SKIP that says what to supply."""
    if check.id == NONCE_CHECK and expect.nonce is None and check.status is not Status.SKIP:
        return replace(check, status=Status.SKIP, expected="", explanation=(
            "No vTPM nonce was given, so the quotes' freshness was not checked (a replayed quote would "
            "pass); give the nonce sent with the request to check it."))
    if check.id == BINDING_CHECK and expect.binding is None:
        return replace(check, status=Status.SKIP, explanation=(
            "No binding value was given, so the TPM's key was not shown to belong to this TEE (a "
            "software TPM's quotes would pass); give the TEE nonce or the session binding to check it."))
    return check
