"""The Sandbox view's work, free of widgets: the embedded sandbox on demand and one demo run.

The demo party is throwaway, as in ``prism demo``: a temporary home with its own workspace, a
keystore holding one key per role, a local CA for the CVMS mTLS certificates, the tiny sum
algorithm and its CSV. It is deleted after the run; the result files are read into memory first
so the view can show them. Every stage is reported as a lifecycle ``Step`` so the view shows the
preparation in the same list as the run itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

# the demo's participant, computation and policy are defined once, for `prism demo` and this view
from core.cocos.demo import DemoParty, prepare_party, sandbox_policy, sandbox_trust
from core.cocos.steps import Step, StepStatus
from core.errors import PrismError

if TYPE_CHECKING:
    from core.attestation.verdict import Verdict
    from core.cocos.lifecycle import RunOutcome
    from core.sandbox.control import SandboxControl, SandboxStatus

log = logging.getLogger(__name__)

T = TypeVar("T")
# (value for SandboxControl.up, label): the defects the app must refuse
MISBEHAVIOUR_CHOICES = (
    (None, "Honest TEE"),
    ("wrong-measurement", "Misbehave: wrong measurement"),
    ("broken-binding", "Misbehave: broken TLS binding"),
    ("debug-policy", "Misbehave: debug allowed"),
)
PREVIEW_LIMIT = 4096  # bytes of a result file shown; larger or binary files are only named


@dataclass(frozen=True, slots=True)
class ResultFile:
    name: str
    size: int
    preview: str  # "" when the file is binary or too large to show


@dataclass(frozen=True, slots=True)
class DemoResult:
    """How a run ended: ``refusal`` is set when the app refused the TEE (nothing was sent)."""

    verdict: Verdict | None
    files: tuple[ResultFile, ...] = ()
    refusal: PrismError | None = None
    agent_state: str = ""


def ensure_sandbox(control: SandboxControl, misbehave: str | None) -> tuple[SandboxStatus, bool]:
    """The sandbox running with ``misbehave``; True when this call (re)started it.

    A misbehaviour is fixed when the daemon starts, so a different choice restarts it.
    """
    status = control.status()
    if status.running and status.misbehave == misbehave:
        return status, False
    if status.running:
        control.down()
    return control.up(misbehave=misbehave), True


def read_results(outcome: RunOutcome) -> tuple[ResultFile, ...]:
    files = []
    for path in sorted(outcome.files):
        data = path.read_bytes()
        preview = ""
        if len(data) <= PREVIEW_LIMIT:
            try:
                preview = data.decode("utf-8")
            except UnicodeDecodeError:
                preview = ""
        files.append(ResultFile(path.relative_to(outcome.result_dir).as_posix(), len(data), preview))
    return tuple(files)


async def _in_thread(fn: Callable[[], T], abandoned: Callable[[T], None]) -> T:
    """``fn()`` in a worker thread; when cancelled meanwhile, wait for it and hand its value to ``abandoned``.

    A thread cannot be interrupted: a daemon it starts or a folder it creates must still be
    known to someone, or a cancelled run would leave an orphan behind.
    """
    work = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        abandoned(await work)
        raise


class DemoRun:
    """One demo computation on the embedded sandbox; ``run()`` is a coroutine for the GUI's loop.

    ``on_step`` receives every step (on the loop's thread); ``on_sandbox`` receives the sandbox
    status and whether this run started the daemon, as soon as it is up.
    """

    def __init__(self, control: SandboxControl, misbehave: str | None, *,
                 on_step: Callable[[Step], None],
                 on_sandbox: Callable[[SandboxStatus, bool], None]) -> None:
        self.control = control
        self.misbehave = misbehave
        self.on_step = on_step
        self.on_sandbox = on_sandbox
        self.lifecycle: Any = None  # the ComputationRun once it exists

    async def _stage(self, name: str, work: Awaitable[T], detail: Callable[[T], str]) -> T:
        self.on_step(Step(name, StepStatus.STARTED))
        try:
            value = await work
        except asyncio.CancelledError:
            self.on_step(Step(name, StepStatus.FAILED, "cancelled"))
            raise
        except Exception as exc:
            self.on_step(Step(name, StepStatus.FAILED, str(exc) or type(exc).__name__))
            raise
        self.on_step(Step(name, StepStatus.OK, detail(value)))
        return value

    async def run(self) -> DemoResult:
        status, started = await self._stage(
            "sandbox", _in_thread(lambda: ensure_sandbox(self.control, self.misbehave),
                                  lambda value: self.on_sandbox(*value)),
            lambda value: f"manager at {value[0].manager_target}" + (" (started now)" if value[1] else ""))
        self.on_sandbox(status, started)
        party = await self._stage("party", _in_thread(lambda: prepare_party(actor="prism sandbox view"),
                                                      lambda p: p.close()),
                                  lambda p: f"keys {', '.join(p.names.values())}; CVMS certificates from a "
                                            "throwaway CA")
        try:
            return await self._run(status, party)
        finally:
            await asyncio.shield(asyncio.to_thread(party.close))

    async def _run(self, status: SandboxStatus, party: DemoParty) -> DemoResult:
        from core.atls.gate import AttestationRefused
        from core.cocos.lifecycle import ComputationRun, HashNotEnforced

        # grpc.aio channels are created here, inside the coroutine, on the GUI's loop
        policy = await self._stage("policy", sandbox_policy(status.manager_target),
                                   lambda p: f"launch measurement {p.measurements[0].hex()[:16]}… from the "
                                             "manager's CoRIM; VMPL 2; no debug")
        self.lifecycle = ComputationRun(
            manager_target=status.manager_target, workspace=party.workspace, cvms_tls=party.tls,
            computation=party.computation(), inputs=party.inputs, signer=party.signer,
            policy=policy, trust=sandbox_trust(Path(status.ark_pem)), on_step=self.on_step, probe_hash_enforcement=True)
        try:
            outcome = await self.lifecycle.run()
        except AttestationRefused as refused:
            return DemoResult(refused.verdict, refusal=refused, agent_state=self.lifecycle.agent_state)
        except HashNotEnforced as refused:
            return DemoResult(self.lifecycle.verdict, refusal=refused, agent_state=self.lifecycle.agent_state)
        files = await asyncio.to_thread(read_results, outcome)
        return DemoResult(outcome.verdict, files)
