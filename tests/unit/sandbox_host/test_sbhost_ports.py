"""Forwarded ports are reserved by binding, so two sandbox hosts never hand out the same one."""

from __future__ import annotations

import asyncio
import errno
import random
import socket

import pytest
from sbhost_support import Party, computation, seed_tee

from core.cocos.agent_client import AgentClient
from core.cocos.channels import PlainTransport
from core.cocos.cvms_server import CvmsServer
from core.sandbox.host import HostError, SandboxHost, reserve_port
from proto.manager import manager_pb2

pytestmark = pytest.mark.timeout(90)


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(asyncio.wait_for(coro, 60))


def _free_range(size: int) -> tuple[int, int]:
    """``size`` consecutive ports nobody holds right now (away from the 6100-6200 default range)."""
    rng = random.Random()
    for _ in range(200):
        low = rng.randrange(20000, 60000 - size)
        held = [reserve_port(port) for port in range(low, low + size)]
        for sock in held:
            if sock is not None:
                sock.close()
        if all(sock is not None for sock in held):
            return low, low + size - 1
    raise AssertionError("no free port range found")


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def _bind_errno(port: int) -> int:
    """0 when another process could bind the port, else the errno, even with SO_REUSEADDR asked for."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            other.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno or -1
    return 0


async def _wait(predicate, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


def _agent_dialled(record) -> bool:  # noqa: ANN001
    # The agent logs each CVMS stream that ends: it is up, and it has no manifest yet.
    log_file = record.folder / "agent.log"
    return log_file.exists() and "the CVMS stream" in log_file.read_text(errors="replace")


def test_two_hosts_never_share_a_port_and_each_reaches_its_own_agent(tmp_path) -> None:
    port_range = _free_range(4)
    party = Party()

    async def scenario():  # noqa: ANN202
        hosts = [SandboxHost(tmp_path / name, port_range=port_range, reconnect_seconds=0.3) for name in "ab"]
        for host in hosts:
            seed_tee(host.tee_dir)
        cvms = CvmsServer()
        cvms_port = await cvms.start()
        request = manager_pb2.CreateReq(agent_cvm_server_url=f"127.0.0.1:{cvms_port}")
        out: dict[str, object] = {}
        try:
            # Two homes, one range: the second host must skip the port the first one handed out,
            # although the first agent does not listen on it yet.
            vms = [await host.create_vm(request) for host in hosts]
            ports = [vm.port for vm in vms]
            out["ports"] = ports
            await _wait(lambda: all(_agent_dialled(vm) for vm in vms))
            out["refused_before_manifest"] = [_refused(port) for port in ports]
            out["bind_before_manifest"] = [_bind_errno(port) for port in ports]
            for index, vm in enumerate(vms):
                cvms.register(f"c{index}", computation(party, f"c{index}"), job_id=vm.cvm_id)
            for index in range(len(vms)):
                await cvms.wait_for(f"c{index}", lambda r: bool(r.run_responses), timeout=20)
            healthy = []
            for port in ports:
                async with AgentClient(target=f"127.0.0.1:{port}", transport=PlainTransport()) as client:
                    healthy.append(await client.health())
            out["healthy"] = healthy
            out["bind_while_listening"] = [_bind_errno(port) for port in ports]
            out["listening_lines"] = [
                f"listening on 127.0.0.1:{vm.port}" in (vm.folder / "agent.log").read_text() for vm in vms]
            await hosts[0].remove_vm(vms[0].cvm_id)
            out["refused_after_remove"] = _refused(ports[0])
            released = reserve_port(ports[0])
            out["released"] = released is not None
            if released is not None:
                released.close()
        finally:
            for host in hosts:
                await host.shutdown()
            await cvms.stop(None)
        return out

    out = run(scenario())
    first, second = out["ports"]
    assert first != second, "two hosts handed out the same forwarded port"
    assert {first, second} <= set(range(port_range[0], port_range[1] + 1))
    # §1: the port refuses connections until the manifest arrives, yet nobody else can bind it
    assert out["refused_before_manifest"] == [True, True]
    assert out["bind_before_manifest"] == [errno.EADDRINUSE, errno.EADDRINUSE]
    assert out["healthy"] == [True, True]
    assert out["bind_while_listening"] == [errno.EADDRINUSE, errno.EADDRINUSE]
    assert out["listening_lines"] == [True, True]  # each port is its own agent's ingress
    assert out["refused_after_remove"] is True and out["released"] is True


def test_a_port_held_by_another_process_is_skipped_and_a_full_range_is_refused(tmp_path) -> None:
    low, high = _free_range(1)
    foreign = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    foreign.bind(("127.0.0.1", low))  # bound, not listening: it refuses connections but owns the port
    try:
        host = SandboxHost(tmp_path / "h", port_range=(low, high))
        with pytest.raises(HostError) as caught:
            run(host.create_vm(manager_pb2.CreateReq(agent_cvm_server_url="127.0.0.1:1")))
    finally:
        foreign.close()
    assert caught.value.code == "sandbox-no-port"
    assert str(caught.value) == "failed to allocate free port on host"
    assert not (tmp_path / "h" / "vms").exists()  # nothing was started for the refused VM


def test_reserve_port_refuses_a_port_already_reserved() -> None:
    first = reserve_port(0)
    assert first is not None
    try:
        port = first.getsockname()[1]
        assert reserve_port(port) is None
        assert _refused(port)  # bound but not listening
        assert _bind_errno(port) == errno.EADDRINUSE
    finally:
        first.close()
    again = reserve_port(port)
    assert again is not None
    again.close()
