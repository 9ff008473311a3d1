"""prism demo — one whole computation on a fresh local sandbox, headless, step by step.

Everything is throwaway: a temporary Prism home holding its own sandbox host, a workspace with a
keystore (one key per role) and a CA for the CVMS mTLS certificates, a tiny Python algorithm and
a CSV dataset. The sandbox host is always stopped at the end; ``--keep`` keeps the files (the
workspace with the result and the agent log) for a look afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.context import EXIT_OK, EXIT_REFUSED, Context
from core.sandbox.tee import MISBEHAVIOURS

if TYPE_CHECKING:
    from core.attestation.verdict import Verdict
    from core.cocos.demo import DemoParty
    from core.sandbox.control import SandboxControl


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a whole computation on a fresh local sandbox and show each step")
    p.add_argument("--keep", action="store_true", help="keep the throwaway workspace and logs (never processes)")
    p.add_argument("--misbehave", choices=MISBEHAVIOURS, help="make the sandbox misbehave; the run must be refused")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the sandbox host to start")
    p.set_defaults(func=demo)


@dataclass
class _Throwaway:
    home: Path
    party: DemoParty | None = None
    control: SandboxControl | None = None

    def close(self, keep: bool) -> None:
        if self.control is not None:
            self.control.down()  # the daemon takes its agent processes with it
        if self.party is not None:
            self.party.close(keep=True)
        if not keep:
            shutil.rmtree(self.home, ignore_errors=True)


def demo(ctx: Context) -> int:
    from core.sandbox.control import SandboxControl

    box = _Throwaway(Path(tempfile.mkdtemp(prefix="prism-demo-")))
    try:
        ctx.out(f"[..] sandbox: starting a fresh sandbox host under {box.home}"
                + (f" (misbehaving: {ctx.args.misbehave})" if ctx.args.misbehave else ""))
        control = SandboxControl(box.home)
        box.control = control
        status = control.up(misbehave=ctx.args.misbehave, timeout=ctx.args.timeout)
        ctx.out(f"[ok] sandbox: manager at {status.manager_target}, root {status.ark_pem}")
        return _run(ctx, box, status.manager_target, Path(status.ark_pem))
    finally:
        box.close(ctx.args.keep)
        if ctx.args.keep:
            ctx.out(f"kept the demo files in {box.home}")


def _run(ctx: Context, box: _Throwaway, manager_target: str, ark_pem: Path) -> int:
    from core.atls.gate import AttestationRefused
    from core.cocos.demo import prepare_party, sandbox_policy, sandbox_trust
    from core.cocos.lifecycle import ComputationRun, HashNotEnforced, Step

    party = box.party = prepare_party(box.home / "party")
    ctx.out(f"[ok] workspace: throwaway keys {', '.join(party.names.values())}; CA-issued CVMS mTLS certificates")
    policy = asyncio.run(sandbox_policy(manager_target))
    ctx.out(f"[ok] policy: launch measurement {policy.measurements[0].hex()[:16]}... (from the manager's "
            "CoRIM), VMPL 2, no debug; the sandbox root is trusted explicitly")

    def on_step(step: Step) -> None:
        if step.status.value != "started":
            ctx.out(f"[{'ok' if step.status.value == 'ok' else 'FAILED'}] {step.name}: {step.detail}")

    run = ComputationRun(
        manager_target=manager_target, workspace=party.workspace, cvms_tls=party.tls,
        computation=party.computation(), inputs=party.inputs, signer=party.signer,
        policy=policy, trust=sandbox_trust(ark_pem), on_step=on_step, probe_hash_enforcement=True)
    try:
        outcome = asyncio.run(run.run())
    except HashNotEnforced as refused:
        if run.verdict is not None:
            _print_verdict(ctx, run.verdict)
        ctx.out(f"refused: {refused}")
        return EXIT_REFUSED
    except AttestationRefused as refused:
        _print_verdict(ctx, refused.verdict)
        ctx.out(f"refused: {refused}")
        if run.agent_state:
            ctx.out(f"the agent is still in state {run.agent_state}: it received no algorithm or data byte")
        return EXIT_REFUSED
    _print_verdict(ctx, outcome.verdict)
    for path in outcome.files:
        ctx.out(f"result {path.relative_to(outcome.result_dir)}: {path.read_text(errors='replace').strip()}")
    return EXIT_OK


def _print_verdict(ctx: Context, verdict: Verdict) -> None:
    ctx.out(f"attestation verdict ({verdict.platform}): {'ACCEPTABLE' if verdict.acceptable else 'REFUSED'}")
    for check in verdict.checks:
        line = f"  {check.status.value.upper():4}  {check.id}"
        if check.status.value in ("fail", "warn"):
            line += f"  ({check.explanation})"
        ctx.out(line)
