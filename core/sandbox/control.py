"""Start, inspect and stop the sandbox host daemon (``prism sandbox up|status|down``).

Everything lives under ``<PRISM_HOME>/sandbox/``: ``host.pid``, ``host.log``, ``status.json``
(written atomically by the daemon: pid, manager port, ARK path, VMs) and ``tee/`` (the sandbox
TEE chain, whose ``ark.pem`` a client trusts explicitly). A pidfile whose process is gone, or is
not our daemon, is stale and is cleaned up rather than trusted.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from core.errors import BadInput, Refused
from core.fsio import atomic_write_json
from core.pyexec import module_command
from core.sandbox.tee import MISBEHAVIOURS
from proto.manager import manager_pb2, manager_pb2_grpc

log = logging.getLogger(__name__)

DAEMON_MODULE = "core.sandbox.host"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SandboxControlError(Refused):
    code = "sandbox-control"


def write_json_atomic(path: Path, value: dict[str, Any]) -> None:
    """A reader never sees half a status file (``core.fsio``); only the sandbox's owner reads it."""
    atomic_write_json(path, value, indent=2)


@dataclass(frozen=True, slots=True)
class SandboxPaths:
    root: Path

    @classmethod
    def under(cls, home: Path) -> SandboxPaths:
        return cls(Path(home) / "sandbox")

    @property
    def pidfile(self) -> Path:
        return self.root / "host.pid"

    @property
    def log(self) -> Path:
        return self.root / "host.log"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def tee_dir(self) -> Path:
        return self.root / "tee"

    @property
    def ark_pem(self) -> Path:
        return self.tee_dir / "ark.pem"


@dataclass(frozen=True, slots=True)
class SandboxStatus:
    running: bool
    pid: int | None = None
    manager_target: str = ""
    ark_pem: str = ""
    vms: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    misbehave: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"running": self.running, "pid": self.pid, "manager_target": self.manager_target,
                "ark_pem": self.ark_pem, "vms": list(self.vms), "misbehave": self.misbehave}


def process_alive(pid: int) -> bool:
    """True for a live process (a zombie counts as dead); reaps it when it is our child."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return True
    return True


def _is_daemon(pid: int) -> bool:
    # A reused pid must not be mistaken for the daemon (and never be signalled).
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return process_alive(pid)
    try:
        return DAEMON_MODULE.encode() in cmdline.read_bytes()
    except OSError:
        return False


class SandboxControl:
    def __init__(self, home: str | Path) -> None:
        self.paths = SandboxPaths.under(Path(home))

    def _pid(self) -> int | None:
        try:
            text = self.paths.pidfile.read_text().strip()
        except FileNotFoundError:
            return None
        if not text.isdigit():
            log.warning("ignoring unreadable pidfile %s", self.paths.pidfile)
            return None
        return int(text)

    def _clean(self) -> None:
        for stale in (self.paths.pidfile, self.paths.status):
            stale.unlink(missing_ok=True)

    def _running_pid(self) -> int | None:
        pid = self._pid()
        if pid is not None and process_alive(pid) and _is_daemon(pid):
            return pid
        if pid is not None:
            log.info("removing the stale sandbox pidfile (pid %d is not running)", pid)
        self._clean()
        return None

    def status(self) -> SandboxStatus:
        pid = self._running_pid()
        if pid is None:
            return SandboxStatus(running=False, ark_pem=str(self.paths.ark_pem) if self.paths.ark_pem.exists() else "")
        data = self._read_status()
        return SandboxStatus(running=True, pid=pid, manager_target=data.get("manager_target", ""),
                             ark_pem=data.get("ark_pem", ""), vms=tuple(data.get("vms", ())),
                             misbehave=data.get("misbehave"))

    def _read_status(self) -> dict[str, Any]:
        try:
            value = json.loads(self.paths.status.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def up(self, *, port: int = 0, misbehave: str | None = None, timeout: float = 60.0) -> SandboxStatus:
        """Start the daemon detached and wait until its manager answers; idempotent when running."""
        if misbehave is not None and misbehave not in MISBEHAVIOURS:
            raise BadInput(f"unknown misbehaviour {misbehave!r}; choose one of {', '.join(MISBEHAVIOURS)}")
        if not 0 <= port < 65536:
            raise BadInput(f"the manager port must be 0-65535, not {port}")
        if self._running_pid() is not None:
            return self.status()
        self.paths.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        command = [*module_command(DAEMON_MODULE), "--state-dir", str(self.paths.root), "--port", str(port)]
        if misbehave:
            command += ["--misbehave", misbehave]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(PROJECT_ROOT),
                                                                         os.environ.get("PYTHONPATH"))))}
        with open(self.paths.log, "ab") as log_file:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                       cwd=PROJECT_ROOT, env=env, start_new_session=True)
        self.paths.pidfile.write_text(f"{process.pid}\n")
        return self._wait_ready(process, timeout)

    def _wait_ready(self, process: subprocess.Popen[bytes], timeout: float) -> SandboxStatus:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._clean()
                raise SandboxControlError(f"the sandbox host exited at start-up (code {process.returncode}); "
                                          f"see {self.paths.log}")
            target = self._read_status().get("manager_target")
            if target and int(self._read_status().get("pid", 0)) == process.pid and _answers(target):
                return self.status()
            time.sleep(0.2)
        self._signal(process.pid, signal.SIGKILL)
        self._clean()
        raise SandboxControlError(f"the sandbox host did not answer within {timeout:.0f} s; see {self.paths.log}")

    def down(self, *, timeout: float = 15.0) -> bool:
        """Stop the daemon and its agents; False when nothing was running."""
        pid = self._running_pid()
        if pid is None:
            return False
        self._signal(pid, signal.SIGTERM)  # the daemon terminates its agent processes itself
        deadline = time.monotonic() + timeout
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if process_alive(pid):
            log.warning("the sandbox host did not stop in %.0f s; killing its process group", timeout)
            self._signal(pid, signal.SIGKILL)
        self._clean()
        return True

    @staticmethod
    def _signal(pid: int, signum: int) -> None:
        try:
            if signum == signal.SIGKILL:
                os.killpg(pid, signum)  # the daemon leads its own session: this takes its agents too
            else:
                os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _answers(target: str) -> bool:
    """Whether the manager at ``target`` answers a CVMInfo call."""
    with grpc.insecure_channel(target) as channel:
        try:
            manager_pb2_grpc.ManagerServiceStub(channel).CVMInfo(manager_pb2.CVMInfoReq(id="probe"), timeout=2)
        except grpc.RpcError:
            return False
    return True
