"""prism manager ... — the Cocos manager for automation: create-vm, remove-vm, info, policy.

Configured like the Cocos CLI: ``MANAGER_GRPC_URL``, ``_TIMEOUT``, ``_SERVER_CA_CERTS``,
``_CLIENT_CERT`` and ``_CLIENT_KEY`` (COCOS-PROTOCOL.md §10.2); flags override them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from app.cli.context import EXIT_OK, Context, read_input_file, write_public_file
from core.cocos.channels import ClientSettings

PREFIX = "MANAGER_GRPC"
_T = TypeVar("_T")


def connection_options(parser: argparse.ArgumentParser, prefix: str) -> None:
    """--target, --timeout and the TLS/mTLS files, each overriding its ``<prefix>_*`` variable."""
    group = parser.add_argument_group("connection", f"default to the {prefix}_* environment variables")
    group.add_argument("--target", help=f"host:port (${prefix}_URL)")
    group.add_argument("--timeout", help=f"Go duration such as 30s (${prefix}_TIMEOUT, default 60s)")
    group.add_argument("--ca", help=f"PEM CA that checks the server (${prefix}_SERVER_CA_CERTS)")
    group.add_argument("--cert", help=f"PEM client certificate for mTLS (${prefix}_CLIENT_CERT)")
    group.add_argument("--key-file", help=f"PEM client key for mTLS (${prefix}_CLIENT_KEY)")


def settings_from(args: argparse.Namespace, prefix: str) -> ClientSettings:
    env = dict(os.environ)
    for flag, name in (("target", "URL"), ("timeout", "TIMEOUT"), ("ca", "SERVER_CA_CERTS"),
                       ("cert", "CLIENT_CERT"), ("key_file", "CLIENT_KEY")):
        value = getattr(args, flag, None)
        if value:
            env[f"{prefix}_{name}"] = value
    return ClientSettings.from_env(prefix, env)


def run_async(work: Callable[[], Awaitable[_T]]) -> _T:
    """Run one coroutine; its grpc channels are created and closed inside that loop."""
    return asyncio.run(work())  # type: ignore[arg-type]


def register(sub: argparse._SubParsersAction) -> None:
    manager = sub.add_parser("manager", help="a Cocos manager: create and remove CVMs, read their policy")
    msub = manager.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = msub.add_parser("create-vm", help="boot a CVM whose agent dials the given CVMS")
    connection_options(p, PREFIX)
    p.add_argument("--cvms-url", default="", help="host:port of the CVMS server the agent dials")
    p.add_argument("--cvms-ca", help="PEM CA that signed the CVMS server certificate")
    p.add_argument("--cvms-cert", help="PEM client certificate the agent presents to the CVMS")
    p.add_argument("--cvms-key", help="PEM key of that client certificate")
    p.add_argument("--ttl", default="", help="Go duration after which the manager removes the CVM (e.g. 1h)")
    p.add_argument("--log-level", default="", choices=("", "debug", "info", "warn", "error"))
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=create_vm)

    p = msub.add_parser("remove-vm", help="stop and remove a CVM")
    connection_options(p, PREFIX)
    p.add_argument("cvm_id")
    p.set_defaults(func=remove_vm)

    p = msub.add_parser("info", help="what the manager says about a CVM (it echoes the id)")
    connection_options(p, PREFIX)
    p.add_argument("cvm_id")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=info)

    p = msub.add_parser("policy", help="the manager's attestation policy (a CoRIM) for a CVM")
    connection_options(p, PREFIX)
    p.add_argument("cvm_id")
    p.add_argument("--out", help="write the CoRIM bytes here")
    p.set_defaults(func=policy)


def _call(ctx: Context, method: str, *args: Any) -> Any:
    from core.cocos.manager_client import ManagerClient

    settings = settings_from(ctx.args, PREFIX)

    async def work() -> Any:
        async with ManagerClient(settings.target, settings.transport, timeout=settings.timeout) as client:
            return await getattr(client, method)(*args)

    return run_async(work)


def _pem(path: str | None) -> bytes:
    return read_input_file(path) if path else b""


def create_vm(ctx: Context) -> int:
    from core.cocos.manager_client import VmSpec

    a = ctx.args
    spec = VmSpec(agent_log_level=a.log_level, agent_cvm_server_url=a.cvms_url, ttl=a.ttl,
                  agent_cvm_server_ca_cert=_pem(a.cvms_ca), agent_cvm_client_cert=_pem(a.cvms_cert),
                  agent_cvm_client_key=_pem(a.cvms_key))
    settings = settings_from(a, PREFIX)
    created = _call(ctx, "create_vm", spec)
    agent = created.agent_target(settings.target.rpartition(":")[0] or "localhost")
    if a.json:
        ctx.emit_json({"cvm_id": created.cvm_id, "forwarded_port": created.forwarded_port, "agent_target": agent})
    else:
        ctx.out(f"created CVM {created.cvm_id}; its agent is reached at {agent}")
    return EXIT_OK


def remove_vm(ctx: Context) -> int:
    _call(ctx, "remove_vm", ctx.args.cvm_id)
    ctx.out(f"removed CVM {ctx.args.cvm_id}")
    return EXIT_OK


def info(ctx: Context) -> int:
    result = _call(ctx, "cvm_info", ctx.args.cvm_id)
    fields = {"id": result.id, "ovmf_version": result.ovmf_version, "cpu_num": result.cpu_num,
              "cpu_type": result.cpu_type, "kernel_cmd": result.kernel_cmd, "eos_version": result.eos_version}
    if ctx.args.json:
        ctx.emit_json(fields)
    else:
        ctx.table(["FIELD", "VALUE"], [[k, v] for k, v in fields.items()])
    return EXIT_OK


def policy(ctx: Context) -> int:
    from core.attestation.corim import decode_corim

    result = _call(ctx, "attestation_policy", ctx.args.cvm_id)
    if ctx.args.out:
        write_public_file(Path(ctx.args.out), result.info)
        ctx.out(f"wrote the CoRIM ({len(result.info)} bytes) to {ctx.args.out}")
    values = decode_corim(result.info)
    ctx.out(f"platform {values.platform}, product {values.product_name or '(unknown)'}")
    for digest in values.measurements:
        ctx.out(f"reference measurement {digest.hex()}")
    return EXIT_OK
