"""prism sandbox up|status|down through the CLI functions, against a real detached daemon."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import grpc
from sbhost_support import seed_tee

from app.cli import sandbox_cmds
from app.cli.context import EXIT_OK, EXIT_REFUSED, Context
from core.sandbox.control import SandboxControl, SandboxPaths, process_alive
from proto.manager import manager_pb2, manager_pb2_grpc


def cli(home, *argv: str) -> tuple[int, list[str]]:  # noqa: ANN001
    parser = argparse.ArgumentParser()
    parser.add_argument("--home")
    sandbox_cmds.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--home", str(home), *argv])
    lines: list[str] = []
    return args.func(Context(args, out=lines.append)), lines


def test_up_status_down(tmp_path) -> None:
    home = tmp_path / "home"
    seed_tee(SandboxPaths.under(home).tee_dir)  # skip the slow RSA-4096 chain creation
    code, lines = cli(home, "sandbox", "up", "--misbehave", "debug-policy")
    try:
        assert code == EXIT_OK and lines[0].startswith("sandbox manager at 127.0.0.1:")
        code, lines = cli(home, "sandbox", "status", "--json")
        state = json.loads("\n".join(lines))
        assert state["running"] and state["misbehave"] == "debug-policy" and state["vms"] == []
        assert state["ark_pem"].endswith("ark.pem") and os.path.exists(state["ark_pem"])
        with grpc.insecure_channel(state["manager_target"]) as channel:
            stub = manager_pb2_grpc.ManagerServiceStub(channel)
            created = stub.CreateVm(manager_pb2.CreateReq(agent_cvm_server_url="127.0.0.1:1"), timeout=10)
        code, lines = cli(home, "sandbox", "status")
        assert created.cvm_id in "\n".join(lines) and "running (pid" in lines[0]
        agent_pid = json.loads(SandboxPaths.under(home).status.read_text())["vms"][0]["pid"]
        assert process_alive(agent_pid)
        again = SandboxControl(home).up()  # idempotent while running
        assert again.pid == state["pid"]
    finally:
        code, lines = cli(home, "sandbox", "down")
    assert code == EXIT_OK and lines == ["sandbox host stopped"]
    assert not process_alive(state["pid"]) and not process_alive(agent_pid)
    code, lines = cli(home, "sandbox", "status")
    assert lines == ["sandbox host: not running"]
    assert cli(home, "sandbox", "down") == (EXIT_REFUSED, ["sandbox host: not running"])


def test_stale_pidfile_is_cleaned_up(tmp_path) -> None:
    paths = SandboxPaths.under(tmp_path)
    paths.root.mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    paths.pidfile.write_text(f"{gone.pid}\n")
    paths.status.write_text('{"manager_target": "127.0.0.1:1"}')
    control = SandboxControl(tmp_path)
    assert control.status().running is False
    assert not paths.pidfile.exists() and not paths.status.exists()
    # A live process that is not our daemon (pid reuse) is never treated as the host.
    paths.pidfile.write_text(f"{os.getpid()}\n")
    assert control.status().running is False
    assert control.down() is False
    paths.pidfile.write_text("garbage")
    assert control.status().running is False
