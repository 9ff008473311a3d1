"""The sandbox host: the manager's bookkeeping of agent processes, and the daemon entry point.

Each CreateVm becomes one ``python -m core.sandbox.agent_process`` child. As the real manager
does with its 9p ``environment`` file (COCOS-PROTOCOL.md §10.2), the host writes the agent's
``AGENT_CVM_*`` settings to an env file and the CVMS certificates to ``cert.pem``, ``key.pem``
and ``ca.pem`` (0600) in the VM's folder. The sandbox TEE chain lives in ``<state>/tee``.

The forwarded port is reserved, not just probed: the host binds it itself (no SO_REUSEADDR) and
hands the bound socket to the agent process, whose ingress listens on it once the manifest has
arrived. Until then the port refuses connections, as a real CVM's does (COCOS-PROTOCOL.md §1),
yet no other host or process can bind it: an allocated port is never handed out twice.

Run ``python -m core.sandbox.host --state-dir DIR [--port P]`` for the daemon that
``core.sandbox.control`` starts: it serves ManagerService and keeps ``status.json`` current.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from core.cocos.channels import parse_go_duration
from core.errors import BadInput, NotFound, PrismError, Refused
from core.fsio import atomic_write
from core.pyexec import module_command
from core.sandbox.control import PROJECT_ROOT, SandboxPaths, write_json_atomic
from core.sandbox.tee import MISBEHAVIOURS, SandboxTee
from proto.manager import manager_pb2

log = logging.getLogger(__name__)

DEFAULT_PORT_RANGE = (6100, 6200)
DEFAULT_MAX_VMS = 10
ERR_MAX_VMS = "maximum number of VMs exceeded"
ERR_NO_PORT = "failed to allocate free port on host"
ERR_NOT_FOUND = "entity not found"


class HostError(Refused):
    code = "sandbox-host"


class VmNotFound(NotFound):
    code = "sandbox-vm-not-found"


@dataclass(slots=True)
class VmRecord:
    cvm_id: str
    port: int
    folder: Path
    process: asyncio.subprocess.Process
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    ttl_handle: asyncio.TimerHandle | None = None
    #: the host's copy of the forwarded port's socket: the port stays taken until the VM is removed
    reservation: socket.socket | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, object]:
        return {"cvm_id": self.cvm_id, "forwarded_port": self.port, "pid": self.process.pid,
                "created_at": self.created_at, "running": self.process.returncode is None}


def _write_private(path: Path, data: bytes) -> None:
    atomic_write(path, data, mode=0o600)


#: POSIX children inherit the bound socket itself; elsewhere the agent binds the port by number
PASS_SOCKET = os.name == "posix"


def reserve_port(port: int) -> socket.socket | None:
    """A socket bound (not listening) to ``127.0.0.1:port``, or None when someone else has the port.

    SO_REUSEADDR stays off, so no other socket can bind the port while this one exists, not even
    one that asks for address reuse; and a bound socket that does not listen refuses connections.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    return sock


class SandboxHost:
    """Agent processes by CVM id; use from one asyncio loop.

    ``port_range`` None takes ephemeral ports (tests); ``on_change`` hears every create/remove.
    """

    def __init__(self, state_dir: str | Path, *, port_range: tuple[int, int] | None = DEFAULT_PORT_RANGE,
                 max_vms: int = DEFAULT_MAX_VMS, misbehave: str | None = None, reconnect_seconds: float = 5.0,
                 on_change: Callable[[], None] | None = None) -> None:
        if misbehave is not None and misbehave not in MISBEHAVIOURS:
            raise BadInput(f"unknown misbehaviour {misbehave!r}; choose one of {', '.join(MISBEHAVIOURS)}")
        self.state_dir = Path(state_dir)
        self.port_range = port_range
        self.max_vms = max_vms
        self.misbehave = misbehave
        self.reconnect_seconds = reconnect_seconds
        self._on_change = on_change
        self._vms: dict[str, VmRecord] = {}

    @property
    def tee_dir(self) -> Path:
        return self.state_dir / "tee"

    @property
    def ark_pem_path(self) -> Path:
        """The sandbox root a client must trust explicitly to accept sandbox evidence."""
        return self.tee_dir / "ark.pem"

    def ensure_tee(self) -> Path:
        SandboxTee(self.tee_dir).ark_certificate()  # creates the chain once; agents load it
        return self.ark_pem_path

    def vms(self) -> tuple[VmRecord, ...]:
        return tuple(self._vms.values())

    def _allocate_port(self) -> socket.socket:
        """Bind the next free forwarded port; the returned socket is the reservation."""
        if self.port_range is None:
            reserved = reserve_port(0)
            if reserved is None:
                raise HostError(ERR_NO_PORT, code="sandbox-no-port")
            return reserved
        taken = {vm.port for vm in self._vms.values()}
        low, high = self.port_range
        for port in range(low, high + 1):
            if port not in taken and (reserved := reserve_port(port)) is not None:
                return reserved
        raise HostError(ERR_NO_PORT, code="sandbox-no-port")

    async def create_vm(self, request: manager_pb2.CreateReq) -> VmRecord:
        if len(self._vms) >= self.max_vms:
            raise HostError(ERR_MAX_VMS, code="sandbox-vm-limit")
        reservation = self._allocate_port()
        try:
            record = await self._start_agent(request, reservation)
        except BaseException:
            reservation.close()
            raise
        self._vms[record.cvm_id] = record
        log.info("CVM %s: agent pid %d, forwarded port %d", record.cvm_id, record.process.pid, record.port)
        self._changed()
        if request.ttl:
            # Like the real manager, the TTL is read after the VM started: a bad one is an error
            # while the VM keeps running.
            seconds = parse_go_duration(request.ttl)
            cvm_id = record.cvm_id
            record.ttl_handle = asyncio.get_running_loop().call_later(
                seconds, lambda: asyncio.ensure_future(self._expire(cvm_id)))
        return record

    async def _start_agent(self, request: manager_pb2.CreateReq, reservation: socket.socket) -> VmRecord:
        port = int(reservation.getsockname()[1])
        cvm_id = str(uuid.uuid4())
        folder = self.state_dir / "vms" / cvm_id
        folder.mkdir(parents=True, mode=0o700)
        env_file = self._write_environment(folder, cvm_id, request)
        command = [*module_command("core.sandbox.agent_process"), "--env-file", str(env_file),
                   "--port", str(port), "--tee-dir", str(self.tee_dir), "--work-dir", str(folder / "work"),
                   "--reconnect-seconds", str(self.reconnect_seconds)]
        if self.misbehave:
            command += ["--misbehave", self.misbehave]
        pass_fds: tuple[int, ...] = ()
        if PASS_SOCKET:
            # The child inherits the bound socket under the same descriptor number.
            command += ["--listen-fd", str(reservation.fileno())]
            pass_fds = (reservation.fileno(),)
        else:
            reservation.close()  # the agent binds the port by number (a short window, not POSIX)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(PROJECT_ROOT),
                                                                         os.environ.get("PYTHONPATH"))))}
        with open(folder / "agent.log", "ab") as log_file:
            process = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.DEVNULL,
                                                           stdout=log_file, stderr=asyncio.subprocess.STDOUT,
                                                           cwd=PROJECT_ROOT, env=env, pass_fds=pass_fds)
        return VmRecord(cvm_id, port, folder, process, reservation=reservation if PASS_SOCKET else None)

    def _write_environment(self, folder: Path, cvm_id: str, request: manager_pb2.CreateReq) -> Path:
        settings = {"AGENT_CVM_ID": cvm_id, "AGENT_CVM_GRPC_URL": request.agent_cvm_server_url,
                    "AGENT_LOG_LEVEL": request.agent_log_level or "info",
                    "AGENT_CVM_CA_URL": request.agent_cvm_ca_url, "AGENT_CERTS_TOKEN": request.agent_certs_token,
                    "AWS_ACCESS_KEY_ID": request.aws_access_key_id,
                    "AWS_SECRET_ACCESS_KEY": request.aws_secret_access_key,
                    "AWS_ENDPOINT_URL": request.aws_endpoint_url, "AWS_REGION": request.aws_region}
        for name, data, variable in (("cert.pem", request.agent_cvm_client_cert, "AGENT_CVM_GRPC_CLIENT_CERT"),
                                     ("key.pem", request.agent_cvm_client_key, "AGENT_CVM_GRPC_CLIENT_KEY"),
                                     ("ca.pem", request.agent_cvm_server_ca_cert, "AGENT_CVM_GRPC_SERVER_CA_CERTS")):
            if data:
                _write_private(folder / name, data)
                settings[variable] = str(folder / name)
        env_file = folder / "environment"
        _write_private(env_file, "".join(f"{k}={v}\n" for k, v in settings.items() if v).encode("utf-8"))
        return env_file

    async def _expire(self, cvm_id: str) -> None:
        if cvm_id in self._vms:
            log.info("CVM %s reached its TTL", cvm_id)
            await self.remove_vm(cvm_id)

    async def remove_vm(self, cvm_id: str, *, grace: float = 5.0) -> None:
        record = self._vms.pop(cvm_id, None)
        if record is None:
            raise VmNotFound(ERR_NOT_FOUND)
        if record.ttl_handle is not None:
            record.ttl_handle.cancel()
        try:
            await _terminate(record.process, grace)
        finally:
            if record.reservation is not None:
                record.reservation.close()  # only now may another VM or process take the port
        log.info("CVM %s removed", cvm_id)
        self._changed()

    async def shutdown(self) -> None:
        await asyncio.gather(*(self.remove_vm(cvm_id) for cvm_id in list(self._vms)), return_exceptions=True)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


async def _terminate(process: asyncio.subprocess.Process, grace: float) -> None:
    if process.returncode is None:
        try:
            process.terminate()
            await asyncio.wait_for(process.wait(), grace)
        except ProcessLookupError:
            pass
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()


# --- the daemon --------------------------------------------------------------------------------

def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.sandbox.host", description="the sandbox host daemon")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--port", type=int, default=0, help="manager port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--misbehave", choices=MISBEHAVIOURS, default=None)
    parser.add_argument("--max-vms", type=int, default=DEFAULT_MAX_VMS)
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    from core.sandbox.manager_service import serve_manager  # noqa: PLC0415 - the servicer imports host

    paths = SandboxPaths(Path(args.state_dir))
    status: dict[str, object] = {"pid": os.getpid(), "misbehave": args.misbehave, "ark_pem": str(paths.ark_pem)}

    def publish() -> None:
        status["vms"] = [vm.to_json() for vm in host.vms()]
        write_json_atomic(paths.status, status)

    host = SandboxHost(paths.root, max_vms=args.max_vms, misbehave=args.misbehave, on_change=publish)
    await asyncio.to_thread(host.ensure_tee)
    server, port = await serve_manager(host, port=args.port)
    status.update(manager_port=port, manager_target=f"127.0.0.1:{port}")
    publish()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    log.info("sandbox manager listening on 127.0.0.1:%d", port)
    await stopping.wait()
    await server.stop(1)
    await host.shutdown()
    paths.status.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_serve(args))
    except PrismError as exc:
        log.error("the sandbox host cannot run: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    # Run the module's own import, not __main__: its error classes must be the ones the
    # manager service catches (core.sandbox.host.VmNotFound, not __main__.VmNotFound).
    from core.sandbox import host as _host

    sys.exit(_host.main())
