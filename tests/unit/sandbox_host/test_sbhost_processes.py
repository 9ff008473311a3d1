"""CreateVm -> a real agent process dials a CvmsServer -> participants reach it on the forwarded port."""

from __future__ import annotations

import asyncio
import io
import socket
import zipfile

import pytest
from sbhost_support import CSV, SUM_ALGORITHM, Party, atls_exchange, computation, seed_tee

from cryptography import x509

from core.atls.bridge import AtlsTransport
from core.atls.gate import AttestationGate
from core.attestation.corim import decode_corim
from core.attestation.roots import TrustStore
from core.attestation.snp.policy import SnpPolicy
from core.cocos.agent_client import AgentClient
from core.cocos.channels import PlainTransport
from core.cocos.computation import AgentConfig
from core.cocos.cvms_server import CvmsServer
from core.cocos.errors import ManagerError, VmNotFound
from core.cocos.manager_client import ManagerClient, VmSpec
from core.sandbox.host import SandboxHost
from core.sandbox.manager_service import serve_manager
from core.sandbox.tee import SANDBOX_MEASUREMENT


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(asyncio.wait_for(coro, 50))


async def _wait(predicate, timeout: float = 15.0) -> None:  # noqa: ANN001
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def _flow(party: Party, port: int, tmp_path, transport=None) -> bytes:  # noqa: ANN001
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "algo.py").write_bytes(SUM_ALGORITHM)
    (tmp_path / "data.csv").write_bytes(CSV)
    transport = transport or PlainTransport()
    async with AgentClient(target=f"127.0.0.1:{port}", transport=transport, signer=party.signer) as client:
        assert await client.health()
        await client.upload_algorithm(tmp_path / "algo.py", algo_type="python", algo_args=["datasets/data.csv"])
        await client.upload_dataset(tmp_path / "data.csv", filename="data.csv")
        path = await client.download_result(tmp_path / "result.zip", poll_interval=0.2, max_wait=20)
    return path.read_bytes()


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_manager_agent_process_cvms_and_participants(tmp_path) -> None:
    party = Party()

    async def scenario():  # noqa: ANN202
        host = SandboxHost(tmp_path / "host", port_range=None, max_vms=2, reconnect_seconds=0.3)
        seed_tee(host.tee_dir)
        server, manager_port = await serve_manager(host)
        cvms = CvmsServer()
        cvms_port = await cvms.start()
        outcome: dict[str, object] = {}
        try:
            async with ManagerClient(f"127.0.0.1:{manager_port}") as manager:
                spec = VmSpec(agent_cvm_server_url=f"127.0.0.1:{cvms_port}")
                plain = await manager.create_vm(spec)
                attested = await manager.create_vm(spec)
                with pytest.raises(ManagerError) as limit:
                    await manager.create_vm(spec)
                outcome["limit"] = limit.value.code
                outcome["closed_before_manifest"] = _refused(plain.forwarded_port)
                cvms.register("c1", computation(party, "c1"), job_id=plain.cvm_id)
                cvms.register("c2", computation(party, "c2", AgentConfig(attested_tls=True)),
                              job_id=attested.cvm_id)
                for comp in ("c1", "c2"):
                    await cvms.wait_for(comp, lambda r: bool(r.run_responses), timeout=20)
                outcome["run_errors"] = [cvms.record(c).run_responses[0].error for c in ("c1", "c2")]
                outcome["zip"] = await _flow(party, plain.forwarded_port, tmp_path)
                await cvms.wait_for("c1", lambda r: any(e.event_type == "Complete" for e in r.events))
                outcome["events"] = [(e.event_type, e.status) for e in cvms.record("c1").events]
                outcome["atls"] = (await asyncio.to_thread(atls_exchange, attested.forwarded_port))[0]
                # The project's own aTLS client, trusting the sandbox root explicitly.
                trust = TrustStore()
                trust.add_sandbox_root(x509.load_pem_x509_certificate(host.ark_pem_path.read_bytes()))
                policy = SnpPolicy(measurements=(SANDBOX_MEASUREMENT,), vmpl=2)
                gate = AttestationGate(policy, trust=trust, computation=computation(party, "c2"))
                async with AtlsTransport(gate) as atls:
                    outcome["verdict"] = await atls.connect(f"127.0.0.1:{attested.forwarded_port}")
                    outcome["atls_zip"] = await _flow(party, attested.forwarded_port, tmp_path / "a", atls)
                await cvms.request_state("c2")
                await cvms.wait_for("c2", lambda r: bool(r.states))
                outcome["state"] = cvms.record("c2").states[0]
                outcome["info"] = await manager.cvm_info("anything")
                outcome["corim"] = decode_corim((await manager.attestation_policy(plain.cvm_id)).info)
                process = next(vm.process for vm in host.vms() if vm.cvm_id == plain.cvm_id)
                await manager.remove_vm(plain.cvm_id)
                outcome["exit"] = process.returncode
                with pytest.raises(VmNotFound) as missing:
                    await manager.remove_vm(plain.cvm_id)
                outcome["missing"] = missing.value.manager_message
                outcome["left"] = [vm.cvm_id for vm in host.vms()]
                outcome["attested_id"] = attested.cvm_id
        finally:
            await host.shutdown()
            await server.stop(None)
            await cvms.stop()
        return outcome

    outcome = run(scenario())
    assert outcome["limit"] == "manager-vm-limit"
    assert outcome["closed_before_manifest"] is True  # §1: port 7002 is closed until the manifest
    assert outcome["run_errors"] == ["", ""]
    with zipfile.ZipFile(io.BytesIO(outcome["zip"])) as archive:
        assert any(archive.read(name) == b"40" for name in archive.namelist())
    assert ("ReceivingAlgorithm", "InProgress") in outcome["events"]
    assert outcome["events"][-1] == ("Complete", "Completed")
    assert outcome["atls"].passed, [c for c in outcome["atls"].checks if c.status.name == "FAIL"]
    assert outcome["verdict"].acceptable, [c.id for c in outcome["verdict"].failures()]
    with zipfile.ZipFile(io.BytesIO(outcome["atls_zip"])) as archive:
        assert any(archive.read(name) == b"40" for name in archive.namelist())
    assert outcome["state"] == "Complete"  # requested after the aTLS flow consumed the result
    info = outcome["info"]
    assert (info.id, info.cpu_type, info.eos_version) == ("anything", "EPYC", "sandbox")
    assert outcome["corim"].measurements == (SANDBOX_MEASUREMENT,)
    assert outcome["corim"].product_name == "EPYC"
    assert outcome["exit"] == 0  # the agent process left cleanly on SIGTERM
    assert outcome["missing"] == "entity not found"
    assert outcome["left"] == [outcome["attested_id"]]
