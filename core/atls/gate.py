"""The attestation gate: one Verdict for an aTLS session, and the rule that nothing flows unless it passes.

The exported-authenticator checks (``atls.*``, from ``verify_authenticator``) say the evidence
belongs to *this* TLS session; the hardware verifiers (``snp.*``, ``tdx.*``, ``vtpm.*``) say the
evidence is genuine; the computation's policy (``policy.*``) says it is the TEE we agreed to
trust (ATTESTATION.md §5). All of them land in one Verdict, in that order, so the inspector,
the CLI and the upload path explain a refusal the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from core.atls.authenticator import AuthenticatorResult
from core.atls.binding import report_data
from core.attestation.assess import CollateralInputs, Policy, VtpmExpectations, assess
from core.attestation.evidence import load_evidence
from core.attestation.roots import TrustStore
from core.attestation.snp.policy import SnpPolicy
from core.attestation.tdx.collateral import TdxCollateral
from core.attestation.verdict import Check, Stage, Status, Verdict
from core.cocos.computation import Computation
from core.errors import PrismError, Refused

__all__ = ["AttestationGate", "AttestationRefused"]

_log = logging.getLogger(__name__)

EVIDENCE_CHECK = "attestation.evidence"


class AttestationRefused(Refused):
    """The agent's attestation did not pass; ``verdict`` says which checks failed and why."""

    code = "attestation-refused"

    def __init__(self, verdict: Verdict, message: str | None = None) -> None:
        self.verdict = verdict
        super().__init__(message or _refusal_message(verdict))


def _refusal_message(verdict: Verdict) -> str:
    failed = verdict.failures()
    head = "; ".join(f"{c.id}: {c.explanation.rstrip('.')}" for c in failed[:3])
    more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
    return ("the agent's attestation was refused, so no data was sent. "
            f"{head or 'no check verified the evidence'}{more}. Open the attestation inspector for "
            "every check, then fix the policy or stop using this agent")


class AttestationGate:
    """Turns an aTLS ``AuthenticatorResult`` into the Verdict that decides whether to proceed.

    ``policy`` is the computation's SNP or TDX policy (None checks authenticity only),
    ``trust`` the AMD roots (with the sandbox root only if the user trusts the sandbox),
    ``collateral`` SNP certificates/CRL or TDX collateral, ``computation`` enables the vTPM
    PCR16 == manifest check, ``at`` fixes the time for validity checks (default: now).
    """

    def __init__(self, policy: Policy | None, *, trust: TrustStore,
                 collateral: CollateralInputs | TdxCollateral | None = None,
                 computation: Computation | None = None, at: datetime | None = None) -> None:
        self.policy = policy
        self.trust = trust
        self.collateral = collateral
        self.computation = computation
        self.at = at

    def evaluate(self, result: AuthenticatorResult, *, transport_checks: Sequence[Check] = ()) -> Verdict:
        """Session checks, then hardware verification, then the policy: one ordered Verdict."""
        hardware = result.hardware
        verdict = Verdict(platform=hardware.platform if hardware else "unknown",
                          checks=[*transport_checks, *result.checks])
        if hardware is None or result.cmw is None:
            # verify_authenticator already recorded why there is no hardware evidence
            verdict.add(Check(EVIDENCE_CHECK, Status.FAIL, "There is no hardware evidence to verify, so "
                              "nothing shows a genuine TEE is at the other end.", expected="SNP or TDX evidence"))
            return verdict
        # SNP-vTPM: the quotes must carry this session's nonce, the AK must be bound into REPORT_DATA,
        # PCR16 must match the manifest and the policy's reference PCRs must hold.
        vtpm = VtpmExpectations(
            nonce=result.expected_eat_nonce, binding=report_data(result.binder.binding), computation=self.computation,
            reference_pcrs=self.policy.reference_pcr_map() if isinstance(self.policy, SnpPolicy) else None)
        try:
            evidence = load_evidence(result.cmw.evidence)
            assessed = assess(evidence, collateral=self.collateral, policy=self.policy, at=self.at,
                              trust=self.trust if evidence.platform == "snp" else None, vtpm=vtpm)
        except PrismError as exc:
            verdict.add(Check(EVIDENCE_CHECK, Status.FAIL, f"The hardware evidence could not be checked: {exc}",
                              stage=Stage.VALIDATE if exc.code == "bad-policy" else Stage.VERIFY))
            return verdict
        verdict.extend(assessed.checks)
        verdict.policy_applied = assessed.policy_applied
        _log.info("aTLS attestation verdict: platform=%s acceptable=%s failed=%s", verdict.platform,
                  verdict.acceptable, [c.id for c in verdict.failures()])
        return verdict

    def enforce(self, result: AuthenticatorResult, *, transport_checks: Sequence[Check] = ()) -> Verdict:
        """``evaluate``, raising AttestationRefused (carrying the Verdict) unless it is acceptable."""
        verdict = self.evaluate(result, transport_checks=transport_checks)
        if not verdict.acceptable:
            raise AttestationRefused(verdict)
        return verdict
