"""prism sandbox ... — the local sandbox host (a Cocos-compatible manager with simulated TEEs)."""

from __future__ import annotations

import argparse

from app.cli.context import EXIT_OK, EXIT_REFUSED, Context
from core.paths import resolve_home
from core.sandbox.control import SandboxControl
from core.sandbox.tee import MISBEHAVIOURS


def register(sub: argparse._SubParsersAction) -> None:
    sandbox = sub.add_parser("sandbox", help="the local sandbox host: manager, agents and a simulated TEE")
    ssub = sandbox.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = ssub.add_parser("up", help="start the sandbox host in the background")
    p.add_argument("--port", type=int, default=0, help="manager port on 127.0.0.1 (default: any free port)")
    p.add_argument("--misbehave", choices=MISBEHAVIOURS, help="make the simulated TEE or agent misbehave")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the manager to answer")
    p.set_defaults(func=up)

    p = ssub.add_parser("status", help="is the sandbox host running, where, with which VMs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=status)

    p = ssub.add_parser("down", help="stop the sandbox host and all its agent processes")
    p.set_defaults(func=down)


def _control(ctx: Context) -> SandboxControl:
    return SandboxControl(resolve_home(ctx.args.home))


def up(ctx: Context) -> int:
    state = _control(ctx).up(port=ctx.args.port, misbehave=ctx.args.misbehave, timeout=ctx.args.timeout)
    ctx.out(f"sandbox manager at {state.manager_target} (pid {state.pid})")
    ctx.out(f"sandbox root certificate (trust it explicitly): {state.ark_pem}")
    return EXIT_OK


def status(ctx: Context) -> int:
    state = _control(ctx).status()
    if ctx.args.json:
        ctx.emit_json(state.to_json())
        return EXIT_OK
    if not state.running:
        ctx.out("sandbox host: not running")
        return EXIT_OK
    ctx.out(f"sandbox host: running (pid {state.pid}), manager at {state.manager_target}")
    if state.misbehave:
        ctx.out(f"misbehaviour: {state.misbehave}")
    ctx.table(["CVM ID", "PORT", "PID", "CREATED"],
              [[vm.get("cvm_id"), vm.get("forwarded_port"), vm.get("pid"), vm.get("created_at")] for vm in state.vms])
    return EXIT_OK


def down(ctx: Context) -> int:
    if _control(ctx).down():
        ctx.out("sandbox host stopped")
        return EXIT_OK
    ctx.out("sandbox host: not running")
    return EXIT_REFUSED
