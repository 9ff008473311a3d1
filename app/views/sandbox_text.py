"""What the Sandbox view's banner says after a run: (state, title, detail) for VerdictBanner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.views.inspector_work import most_serious_first
from app.views.widgets.message_bar import error_text
from core.attestation.verdict import Status
from core.cocos.steps import Step, StepStatus

if TYPE_CHECKING:
    from app.views.sandbox_work import DemoResult

Text = tuple[str, str, str]


def _cleanup_note(steps: Sequence[Step]) -> str:
    removed = any(s.name == "remove-vm" and s.status is StepStatus.OK for s in steps)
    created = any(s.name == "create-vm" and s.status is StepStatus.OK for s in steps)
    if removed:
        return "The CVM was removed and the CVMS server stopped."
    if created:
        return "The CVM could not be removed: check the sandbox's status and stop it if a CVM is left."
    return "No CVM had been created."


def outcome_text(result: DemoResult, steps: Sequence[Step]) -> Text:
    verdict = result.verdict
    if result.refusal is not None:
        return _refusal_text(result, steps)
    assert verdict is not None
    passed = sum(1 for c in verdict.checks if c.status is Status.PASS)
    warnings = [c.id for c in verdict.checks if c.status is Status.WARN]
    note = (f" {len(warnings)} warning{'s' if len(warnings) != 1 else ''} ({', '.join(warnings)}): the sandbox's "
            "root is trusted on purpose, so this is a simulated TEE, not real hardware." if warnings else "")
    shown = [f"{f.name} = {f.preview.strip()}" for f in result.files if f.preview and len(f.preview) < 60]
    produced = "; ".join(shown) or ", ".join(f.name for f in result.files) or "no files"
    return ("ok", f"Done: the TEE was verified and the result received ({produced})",
            f"Attestation acceptable: {passed} of {len(verdict.checks)} checks passed.{note} The algorithm and "
            "dataset were uploaded only after that.")


def _refusal_text(result: DemoResult, steps: Sequence[Step]) -> Text:
    verdict = result.verdict
    failures = most_serious_first(verdict.failures()) if verdict is not None else []
    state = " The agent received no algorithm or data byte"
    state += f" (it is still in state {result.agent_state})." if result.agent_state else "."
    if not failures:
        return ("bad", "Refused: the app stopped this run",
                f"{error_text(result.refusal or '')}{state} {_cleanup_note(steps)}")
    names = ", ".join(c.id for c in failures)
    return ("bad", f"Refused: attestation failed ({names})",
            f"{failures[0].explanation}{state} {_cleanup_note(steps)}")


def cancelled_text(steps: Sequence[Step]) -> tuple[str, str]:
    return "Run cancelled", _cleanup_note(steps)


def failure_text(error: BaseException, steps: Sequence[Step]) -> tuple[str, str]:
    failed = [s for s in steps if s.status is StepStatus.FAILED and s.name not in ("remove-vm", "cvms-stop")]
    where = f" at “{failed[0].name}”" if failed else ""
    return f"The run failed{where}", f"{error_text(error)} {_cleanup_note(steps)}"
