"""prism demo — one whole computation on a fresh local sandbox, headless, step by step.

Everything is throwaway: a temporary Prism home holding its own sandbox host, a workspace with a
keystore (one key per role) and a CA for the CVMS mTLS certificates, a tiny Python algorithm and
a CSV dataset. The sandbox host is always stopped at the end; ``--keep`` keeps the files (the
workspace with the result and the agent log) for a look afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.context import EXIT_OK, EXIT_REFUSED, Context
from core.sandbox.tee import MISBEHAVIOURS

if TYPE_CHECKING:
    from core.attestation.snp.policy import SnpPolicy
    from core.attestation.verdict import Verdict
    from core.cocos.computation import Computation
    from core.cocos.lifecycle import CvmsTls
    from core.keys.keystore import Keystore
    from core.sandbox.control import SandboxControl
    from core.workspace.workspace import Workspace

DEMO_ALGORITHM = b"""import csv, pathlib, sys
total = sum(int(row["value"]) for row in csv.DictReader(open(sys.argv[1], newline="")))
pathlib.Path("results").mkdir(exist_ok=True)
pathlib.Path("results/sum.txt").write_text(f"{total}\\n")
"""
DEMO_CSV = b"name,value\nalice,10\nbob,32\ncarol,-2\n"
ROLE_KEYS = {"algorithm-provider": ("demo-algorithm", "ed25519"), "data-provider": ("demo-data", "ecdsa-p256"),
             "consumer": ("demo-consumer", "ed25519")}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a whole computation on a fresh local sandbox and show each step")
    p.add_argument("--keep", action="store_true", help="keep the throwaway workspace and logs (never processes)")
    p.add_argument("--misbehave", choices=MISBEHAVIOURS, help="make the sandbox misbehave; the run must be refused")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the sandbox host to start")
    p.set_defaults(func=demo)


@dataclass
class _Throwaway:
    home: Path
    workspace: Workspace | None = None
    keystore: Keystore | None = None
    control: SandboxControl | None = None

    def close(self, keep: bool) -> None:
        if self.control is not None:
            self.control.down()  # the daemon takes its agent processes with it
        if self.keystore is not None:
            self.keystore.close()
        if self.workspace is not None:
            self.workspace.close()
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


def _prepare(ctx: Context, box: _Throwaway) -> tuple[Workspace, CvmsTls, Keystore, dict[str, str]]:
    from core.ca.authority import CertificateAuthority
    from core.cocos.lifecycle import CvmsTls
    from core.keys.keystore import Keystore
    from core.workspace.manager import WorkspaceManager

    workspace = WorkspaceManager(box.home, actor="prism demo").create("demo")
    box.workspace = workspace
    keystore = Keystore.create(workspace.keystore_path, passphrase=secrets.token_urlsafe(24),
                               on_event=workspace.audit_hook)
    box.keystore = keystore
    names = {}
    for role, (name, key_type) in ROLE_KEYS.items():
        keystore.generate(name, key_type, label=f"demo {role}")
        names[role] = name
    authority = CertificateAuthority(workspace.store, keystore, audit=workspace.audit_hook, workspace_name="demo")
    authority.init("Prism demo CA", days=2)
    tls = CvmsTls.issue(authority)
    ctx.out(f"[ok] workspace: throwaway keys {', '.join(names.values())}; CA-issued CVMS mTLS certificates")
    return workspace, tls, keystore, names


def _computation(keystore: Keystore, names: dict[str, str]) -> Computation:
    from core.cocos.computation import (
        AgentConfig,
        Algorithm,
        Computation,
        Dataset,
        ResultConsumer,
    )

    def spki(role: str) -> bytes:
        return keystore.get(names[role]).public_der

    return Computation(
        id=f"demo-{secrets.token_hex(4)}", name="demo sum", description="sum the value column of a CSV",
        algorithm=Algorithm(hash=hashlib.sha3_256(DEMO_ALGORITHM).digest(), user_key=spki("algorithm-provider")),
        datasets=(Dataset(hash=hashlib.sha3_256(DEMO_CSV).digest(), user_key=spki("data-provider"),
                          filename="values.csv"),),
        result_consumers=(ResultConsumer(user_key=spki("consumer")),),
        agent_config=AgentConfig(attested_tls=True))


async def _policy(manager_target: str) -> SnpPolicy:
    """The manager's reference measurement (its CoRIM), with our own rules for the rest (§14 #23)."""
    from core.attestation.corim import decode_corim
    from core.attestation.snp.policy import SnpPolicy
    from core.cocos.manager_client import ManagerClient

    async with ManagerClient(manager_target, timeout=10) as manager:
        corim = decode_corim((await manager.attestation_policy("demo")).info)
    return SnpPolicy(measurements=corim.measurements, vmpl=2, debug_allowed=False)


def _run(ctx: Context, box: _Throwaway, manager_target: str, ark_pem: Path) -> int:
    from cryptography import x509

    from core.atls.gate import AttestationRefused
    from core.attestation.roots import TrustStore
    from core.cocos.lifecycle import ComputationRun, HashNotEnforced, RunInputs, Step

    workspace, tls, keystore, names = _prepare(ctx, box)
    inputs_dir = box.home / "inputs"
    inputs_dir.mkdir()
    (inputs_dir / "sum.py").write_bytes(DEMO_ALGORITHM)
    (inputs_dir / "values.csv").write_bytes(DEMO_CSV)
    trust = TrustStore()
    trust.add_sandbox_root(x509.load_pem_x509_certificate(ark_pem.read_bytes()))
    policy = asyncio.run(_policy(manager_target))
    ctx.out(f"[ok] policy: launch measurement {policy.measurements[0].hex()[:16]}... (from the manager's "
            "CoRIM), VMPL 2, no debug; the sandbox root is trusted explicitly")

    def on_step(step: Step) -> None:
        if step.status.value != "started":
            ctx.out(f"[{'ok' if step.status.value == 'ok' else 'FAILED'}] {step.name}: {step.detail}")

    run = ComputationRun(
        manager_target=manager_target, workspace=workspace, cvms_tls=tls, computation=_computation(keystore, names),
        inputs=RunInputs(inputs_dir / "sum.py", "python", ("datasets/values.csv",),
                         datasets=(("values.csv", inputs_dir / "values.csv"),)),
        signer=lambda role: keystore.sign_role(names[role], role),
        policy=policy, trust=trust, on_step=on_step, probe_hash_enforcement=True)
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
