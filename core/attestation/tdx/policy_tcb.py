"""Policy checks on the TCB evaluation: accepted statuses, advisory waivers, freshness, CRLs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from core.attestation.verdict import Stage, Status, Verdict

from .checks import check
from .tcb import NO_MATCHING_TCB_LEVEL, TcbEvaluation

if TYPE_CHECKING:
    from .policy import TdxPolicy

# a waiver can excuse advisories, never a platform Intel does not list or has revoked
_NEVER_WAIVABLE = {NO_MATCHING_TCB_LEVEL, "Revoked"}


def _advisory_states(policy: TdxPolicy, advisories: tuple[str, ...], at: datetime) -> dict[str, str]:
    """Each advisory -> "waived until <date>" | "waiver expired <date>" | "not waived"."""
    states = {}
    for advisory in advisories:
        waivers = [w for w in policy.advisory_waivers if w.advisory_id.upper() == advisory.upper()]
        live = [w for w in waivers if w.live(at)]
        if live:
            states[advisory] = f"waived until {max(w.expires for w in live):%Y-%m-%d}"
        elif waivers:
            states[advisory] = f"waiver expired {max(w.expires for w in waivers):%Y-%m-%d}"
        else:
            states[advisory] = "not waived"
    return states


def check_tcb(policy: TdxPolicy, verdict: Verdict, tcb_status: TcbEvaluation | str | None,
              at: datetime) -> None:
    status = tcb_status.status if isinstance(tcb_status, TcbEvaluation) else tcb_status
    advisories = tcb_status.advisory_ids if isinstance(tcb_status, TcbEvaluation) else ()
    accepted = " | ".join(policy.accepted_tcb_statuses)
    if status is None:
        verdict.add(check("policy.tcb_status", Status.FAIL,
                          "The TCB status is unknown (no applicable TCB Info was evaluated); "
                          "supply current collateral.", expected=accepted, actual="unknown",
                          stage=Stage.VALIDATE))
        return
    states = _advisory_states(policy, advisories, at)
    unwaived = [a for a, s in states.items() if not s.startswith("waived")]
    if status in policy.accepted_tcb_statuses:
        result, why = Status.PASS, f"TCB status {status} is accepted by the policy."
    elif status not in _NEVER_WAIVABLE and advisories and not unwaived:
        result, why = Status.PASS, (f"TCB status {status} is accepted because every advisory "
                                    "behind it is waived by the policy.")
    else:
        result, why = Status.FAIL, (f"TCB status {status} is not accepted: the platform lacks "
                                    "security fixes the policy requires.")
    verdict.add(check("policy.tcb_status", result, why, expected=accepted, actual=status,
                      stage=Stage.VALIDATE))
    if states:
        status_ok = status in policy.accepted_tcb_statuses
        outcome = Status.PASS if not unwaived else (Status.WARN if status_ok else Status.FAIL)
        verdict.add(check(
            "policy.advisories", outcome,
            "Every advisory is waived." if not unwaived else
            f"Advisories {', '.join(unwaived)} affect this platform and are not waived"
            + (" (shown because the status is accepted)." if status_ok else "."),
            expected="each advisory waived by a live waiver",
            actual="; ".join(f"{a}: {s}" for a, s in states.items()), stage=Stage.VALIDATE,
        ))
    else:
        verdict.add(check("policy.advisories", Status.PASS, "No security advisory applies.",
                          actual="none", stage=Stage.VALIDATE))
    if policy.minimum_tcb_eval_number is not None:
        number = tcb_status.tcb_evaluation_data_number if isinstance(tcb_status, TcbEvaluation) else None
        ok = number is not None and number >= policy.minimum_tcb_eval_number
        verdict.add(check("policy.tcb_eval_number", Status.PASS if ok else Status.FAIL,
                          "The TCB Info is recent enough." if ok else
                          "The TCB Info is older than the policy allows (or unknown); fetch current collateral.",
                          expected=f">= {policy.minimum_tcb_eval_number}", actual=str(number),
                          stage=Stage.VALIDATE))


def check_crl_policy(policy: TdxPolicy, verdict: Verdict) -> None:
    """Missing revocation data is a warning at verification; the policy decides if it is fatal."""
    missing = [cid for cid in ("tdx.root.crl", "tdx.pck.crl")
               if (c := verdict.get(cid)) is None or c.status in (Status.WARN, Status.SKIP)]
    if not missing:
        verdict.add(check("policy.crl", Status.PASS, "Revocation was checked against both CRLs.",
                          expected=policy.crl_policy, actual="checked", stage=Stage.VALIDATE))
        return
    fail = policy.crl_policy == "fail"
    verdict.add(check(
        "policy.crl", Status.FAIL if fail else Status.WARN,
        f"Revocation was not checked ({', '.join(missing)}); the policy "
        + ("requires CRLs, so this fails." if fail else "allows this with a warning."),
        expected=f"CRLs checked (crl_policy={policy.crl_policy})", actual="missing: " + ", ".join(missing),
        stage=Stage.VALIDATE,
    ))
