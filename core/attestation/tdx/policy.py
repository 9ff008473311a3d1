"""What a participant requires of a TDX TD, and the validation step that applies it (§3.8 step 9).

``TdxPolicy`` is data (JSON round-trip, versioned, unknown keys rejected). ``validate_tdx``
appends Stage.VALIDATE checks to a Verdict that ``verify_tdx`` produced; it never re-verifies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from core.attestation.verdict import Stage, Status, Verdict

from .checks import check
from .policy_json import policy_from_json, policy_kwargs, policy_to_json
from .policy_tcb import check_crl_policy, check_tcb
from .quote import TdxQuote
from .tcb import TcbEvaluation

CRL_POLICIES = ("fail", "warn")


@dataclass(frozen=True, slots=True)
class AdvisoryWaiver:
    """Accept one Intel security advisory until ``expires`` (inclusive), for a stated reason."""

    advisory_id: str
    expires: date
    reason: str = ""

    def live(self, at: datetime) -> bool:
        return at.date() <= self.expires


@dataclass(frozen=True, slots=True)
class TdxPolicy:
    mr_td: bytes | None = None
    any_mr_td: tuple[bytes, ...] = ()          # alternative allow-list of MRTDs
    rtmrs: tuple[bytes | None, ...] = (None, None, None, None)
    mr_seam: bytes | None = None
    mr_config_id: bytes | None = None
    mr_owner: bytes | None = None
    mr_owner_config: bytes | None = None
    report_data: bytes | None = None          # normally filled in per session
    td_attributes: bytes | None = None
    allow_debug: bool = False
    xfam: bytes | None = None
    minimum_tee_tcb_svn: bytes | None = None
    qe_vendor_id: bytes | None = None
    minimum_qe_svn: int | None = None
    minimum_pce_svn: int | None = None
    accepted_tcb_statuses: tuple[str, ...] = ("UpToDate",)
    advisory_waivers: tuple[AdvisoryWaiver, ...] = field(default=())
    minimum_tcb_eval_number: int | None = None
    crl_policy: str = "fail"

    def __post_init__(self) -> None:
        # the same rules as the JSON reader, so a policy built in code cannot be malformed either
        policy_kwargs(policy_to_json(self), AdvisoryWaiver)

    def to_json(self) -> dict[str, object]:
        return policy_to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, object] | str | bytes) -> TdxPolicy:
        return policy_from_json(data, cls, AdvisoryWaiver)

    @classmethod
    def from_quote(cls, quote: TdxQuote) -> TdxPolicy:
        """Pin what this quote shows (measurements, attributes, TCB); REPORT_DATA stays per-session."""
        body = quote.body

        def if_set(value: bytes) -> bytes | None:
            return value if any(value) else None

        return cls(
            mr_td=body.mr_td, rtmrs=body.rtmrs, mr_seam=body.mr_seam,
            mr_config_id=if_set(body.mr_config_id), mr_owner=if_set(body.mr_owner),
            mr_owner_config=if_set(body.mr_owner_config), td_attributes=body.td_attributes,
            xfam=body.xfam, minimum_tee_tcb_svn=body.tee_tcb_svn,
            qe_vendor_id=quote.header.qe_vendor_id,
        )


def _exact(verdict: Verdict, cid: str, label: str, expected: bytes | None, actual: bytes) -> None:
    if expected is None:
        verdict.add(check(cid, Status.SKIP, f"The policy does not pin {label}.",
                          actual=actual.hex(), stage=Stage.VALIDATE))
        return
    ok = expected == actual
    verdict.add(check(cid, Status.PASS if ok else Status.FAIL,
                      f"{label} is the expected value." if ok else
                      f"{label} differs from the expected value: this is not the TD you expect.",
                      expected=expected.hex(), actual=actual.hex(), stage=Stage.VALIDATE))


def _measurements(quote: TdxQuote, policy: TdxPolicy, verdict: Verdict) -> None:
    body = quote.body
    if policy.any_mr_td and policy.mr_td is None:
        ok = body.mr_td in policy.any_mr_td
        verdict.add(check("policy.mrtd", Status.PASS if ok else Status.FAIL,
                          "MRTD is on the allow-list." if ok else "MRTD is not on the allow-list.",
                          expected=" | ".join(m.hex() for m in policy.any_mr_td),
                          actual=body.mr_td.hex(), stage=Stage.VALIDATE))
    else:
        _exact(verdict, "policy.mrtd", "MRTD", policy.mr_td, body.mr_td)
    for i, (want, have) in enumerate(zip(policy.rtmrs, body.rtmrs)):
        _exact(verdict, f"policy.rtmr{i}", f"RTMR{i}", want, have)
    _exact(verdict, "policy.mrseam", "MRSEAM", policy.mr_seam, body.mr_seam)
    _exact(verdict, "policy.mrconfigid", "MRCONFIGID", policy.mr_config_id, body.mr_config_id)
    _exact(verdict, "policy.mrowner", "MROWNER", policy.mr_owner, body.mr_owner)
    _exact(verdict, "policy.mrownerconfig", "MROWNERCONFIG", policy.mr_owner_config, body.mr_owner_config)
    _exact(verdict, "policy.report_data", "REPORT_DATA", policy.report_data, body.report_data)


def _attributes(quote: TdxQuote, policy: TdxPolicy, verdict: Verdict) -> None:
    body = quote.body
    debug = body.attributes.debug
    bad = debug and not policy.allow_debug
    verdict.add(check("policy.debug", Status.FAIL if bad else (Status.WARN if debug else Status.PASS),
                      "This is a debug TD; the host can read its memory, so it must not receive data."
                      if bad else "Debug TD allowed by this policy." if debug else "The TD is not a debug TD.",
                      expected="DEBUG = 0" if not policy.allow_debug else "any",
                      actual=f"DEBUG = {int(debug)}", stage=Stage.VALIDATE))
    _exact(verdict, "policy.td_attributes", "TD_ATTRIBUTES", policy.td_attributes, body.td_attributes)
    xfam = body.xfam_bits
    problems = [] if xfam.fixed_bits_ok else ["fixed bits violated (x87/SSE must be set, reserved bits clear)"]
    if policy.xfam is not None and policy.xfam != body.xfam:
        problems.append(f"expected {policy.xfam.hex()}")
    verdict.add(check("policy.xfam", Status.FAIL if problems else Status.PASS,
                      "XFAM is acceptable." if not problems else "XFAM is not acceptable: " + "; ".join(problems) + ".",
                      expected=policy.xfam.hex() if policy.xfam else "fixed bits only",
                      actual=f"{body.xfam.hex()} ({xfam.describe()})", stage=Stage.VALIDATE))


def _svns(quote: TdxQuote, policy: TdxPolicy, verdict: Verdict, pce_svn: int | None) -> None:
    svn = quote.body.tee_tcb_svn
    if policy.minimum_tee_tcb_svn is None:
        verdict.add(check("policy.tee_tcb_svn", Status.SKIP, "No minimum TEE_TCB_SVN.",
                          actual=svn.hex(), stage=Stage.VALIDATE))
    else:
        low = [i for i, (h, m) in enumerate(zip(svn, policy.minimum_tee_tcb_svn)) if h < m]
        verdict.add(check("policy.tee_tcb_svn", Status.FAIL if low else Status.PASS,
                          f"TEE_TCB_SVN components {low} are below the minimum." if low
                          else "TEE_TCB_SVN reaches the minimum.",
                          expected=f">= {policy.minimum_tee_tcb_svn.hex()}", actual=svn.hex(), stage=Stage.VALIDATE))
    if policy.qe_vendor_id is not None:
        _exact(verdict, "policy.qe_vendor", "The QE vendor ID", policy.qe_vendor_id, quote.header.qe_vendor_id)
    qe_svn = quote.auth_data.qe_certification.qe_report.isv_svn
    for cid, minimum, have, label in (("policy.qe_svn", policy.minimum_qe_svn, qe_svn, "QE ISVSVN"),
                                      ("policy.pce_svn", policy.minimum_pce_svn, pce_svn, "PCESVN")):
        if minimum is None:
            continue
        ok = have is not None and have >= minimum
        verdict.add(check(cid, Status.PASS if ok else Status.FAIL,
                          f"{label} reaches the minimum." if ok else f"{label} is below the minimum or unknown.",
                          expected=f">= {minimum}", actual=str(have), stage=Stage.VALIDATE))


def validate_tdx(
    quote: TdxQuote,
    policy: TdxPolicy,
    verdict: Verdict,
    *,
    tcb_status: TcbEvaluation | str | None = None,
    at: datetime | None = None,
) -> Verdict:
    """Append the policy checks (Stage.VALIDATE) for ``quote`` to ``verdict`` and return it.

    ``tcb_status`` is the evaluation from ``verify.evaluate_quote_tcb`` (or just a status name);
    ``at`` decides which advisory waivers are still live (default: now).
    """
    at = at or datetime.now(timezone.utc)
    verdict.policy_applied = True
    _measurements(quote, policy, verdict)
    _attributes(quote, policy, verdict)
    evaluation = tcb_status if isinstance(tcb_status, TcbEvaluation) else None
    pce_svn = evaluation.pck_pce_svn if evaluation is not None else None
    _svns(quote, policy, verdict, pce_svn)
    check_tcb(policy, verdict, tcb_status, at)
    check_crl_policy(policy, verdict)
    return verdict
