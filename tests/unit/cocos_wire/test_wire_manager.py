"""ManagerClient against a real grpc.aio manager servicer over plain, TLS and mTLS (CA-issued certs)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import empty_pb2

from cocos_wire_pki import make_pki
from core.cocos.channels import MutualTlsTransport, PlainTransport, TlsTransport, server_credentials
from core.cocos.errors import ManagerError, VmNotFound
from core.cocos.manager_client import CreatedVm, ManagerClient, VmSpec
from core.errors import BadInput, NotFound
from proto.manager import manager_pb2, manager_pb2_grpc


class TestManager(manager_pb2_grpc.ManagerServiceServicer):
    __test__ = False

    def __init__(self, *, port: str = "6100", max_vms: int = 2) -> None:
        self.requests: list[object] = []
        self.vms: list[str] = []
        self.port = port
        self.max_vms = max_vms

    async def CreateVm(self, request, context):  # noqa: N802
        self.requests.append(request)
        if len(self.vms) >= self.max_vms:
            await context.abort(grpc.StatusCode.UNKNOWN, "maximum number of VMs exceeded")
        self.vms.append(f"cvm-{len(self.vms)}")
        return manager_pb2.CreateRes(forwarded_port=self.port, cvm_id=self.vms[-1])

    async def RemoveVm(self, request, context):  # noqa: N802
        self.requests.append(request)
        if request.cvm_id not in self.vms:
            await context.abort(grpc.StatusCode.UNKNOWN, "failed to remove vm: entity not found")
        self.vms.remove(request.cvm_id)
        return empty_pb2.Empty()

    async def CVMInfo(self, request, context):  # noqa: N802
        self.requests.append(request)
        return manager_pb2.CVMInfoRes(id=request.id, ovmf_version="edk2-stable202502", cpu_num=4,
                                      cpu_type="EPYC-v4", eos_version="v0.10.0")

    async def AttestationPolicy(self, request, context):  # noqa: N802
        self.requests.append(request)
        return manager_pb2.AttestationPolicyRes(info=b"\xd9\x01\xf5corim", id=request.id)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def _serve(manager, credentials=None):
    server = grpc.aio.server()
    manager_pb2_grpc.add_ManagerServiceServicer_to_server(manager, server)
    address = "127.0.0.1:0"
    port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    await server.start()
    return server, f"127.0.0.1:{port}"


FULL_SPEC = VmSpec(
    agent_log_level="debug", agent_cvm_server_ca_cert=b"-----BEGIN CERTIFICATE-----\nca\n",
    agent_cvm_client_key=b"-----BEGIN PRIVATE KEY-----\nk\n", agent_cvm_client_cert=b"-----BEGIN CERTIFICATE-----\nc\n",
    agent_cvm_server_url="10.0.2.2:7001", agent_cvm_ca_url="https://certs.example", ttl="1h30m",
    agent_certs_token="token", aws_access_key_id="AKIA", aws_secret_access_key="secret",
    aws_endpoint_url="https://s3.example", aws_region="eu-west-1", aa_kbs_params="cc_kbc::http://kbs:8080",
)


def test_all_rpcs_over_plain_with_exact_fields():
    manager = TestManager()

    async def main():
        server, target = await _serve(manager)
        try:
            async with ManagerClient(target, PlainTransport(), timeout=10) as client:
                created = await client.create_vm(FULL_SPEC)
                info = await client.cvm_info(created.cvm_id)
                policy = await client.attestation_policy(created.cvm_id)
                await client.remove_vm(created.cvm_id)
                return created, info, policy
        finally:
            await server.stop(None)

    created, info, policy = run(main())
    assert created == CreatedVm(cvm_id="cvm-0", forwarded_port=6100)
    assert created.agent_target("host.example") == "host.example:6100"
    create, info_req, policy_req, remove = manager.requests
    assert create == manager_pb2.CreateReq(
        agent_log_level="debug", agent_cvm_server_ca_cert=FULL_SPEC.agent_cvm_server_ca_cert,
        agent_cvm_client_key=FULL_SPEC.agent_cvm_client_key, agent_cvm_client_cert=FULL_SPEC.agent_cvm_client_cert,
        agent_cvm_server_url="10.0.2.2:7001", agent_cvm_ca_url="https://certs.example", ttl="1h30m",
        agent_certs_token="token", aws_access_key_id="AKIA", aws_secret_access_key="secret",
        aws_endpoint_url="https://s3.example", aws_region="eu-west-1", aa_kbs_params="cc_kbc::http://kbs:8080")
    assert info_req == manager_pb2.CVMInfoReq(id="cvm-0") and policy_req == manager_pb2.AttestationPolicyReq(id="cvm-0")
    assert remove == manager_pb2.RemoveReq(cvm_id="cvm-0")
    assert (info.id, info.cpu_num, info.cpu_type, info.kernel_cmd) == ("cvm-0", 4, "EPYC-v4", "")
    assert policy.info == b"\xd9\x01\xf5corim" and policy.id == "cvm-0"
    assert "secret" not in repr(FULL_SPEC) and "token" not in repr(FULL_SPEC)


def test_manager_errors_are_typed():
    manager = TestManager(max_vms=1)

    async def main():
        server, target = await _serve(manager)
        try:
            async with ManagerClient(target) as client:
                await client.create_vm()
                with pytest.raises(ManagerError) as limit:
                    await client.create_vm()
                with pytest.raises(VmNotFound) as missing:
                    await client.remove_vm("nope")
                return limit.value, missing.value
        finally:
            await server.stop(None)

    limit, missing = run(main())
    assert limit.code == "manager-vm-limit" and limit.manager_message == "maximum number of VMs exceeded"
    assert isinstance(missing, NotFound) and missing.manager_message == "failed to remove vm: entity not found"


def test_bad_input_is_refused_before_calling():
    with pytest.raises(BadInput, match="not a duration"):
        VmSpec(ttl="10 minutes")
    with pytest.raises(BadInput, match="log level"):
        VmSpec(agent_log_level="trace")
    with pytest.raises(BadInput, match="must be bytes"):
        VmSpec(agent_cvm_client_cert="pem text")  # type: ignore[arg-type]
    manager = TestManager(port="not-a-port")

    async def main():
        server, target = await _serve(manager)
        try:
            async with ManagerClient(target) as client:
                with pytest.raises(BadInput, match="not a TCP port"):
                    await client.create_vm()
                with pytest.raises(BadInput, match="CVM id"):
                    await client.cvm_info("")
        finally:
            await server.stop(None)

    run(main())
    assert len(manager.requests) == 1


def test_mutual_tls_accepts_our_client_and_refuses_others(tmp_path):
    pki = make_pki(tmp_path)
    manager = TestManager()

    async def main():
        credentials = server_credentials(pki.server_cert, pki.server_key, client_ca_pem=pki.ca_pem)
        server, target = await _serve(manager, credentials)
        target = target.replace("127.0.0.1", "localhost")
        try:
            async with ManagerClient(target, MutualTlsTransport(pki.ca_pem, pki.client_cert, pki.client_key)) as ok:
                created = await ok.create_vm()
            outcomes = []
            for transport in (TlsTransport(pki.ca_pem),
                              MutualTlsTransport(pki.ca_pem, pki.stranger_cert, pki.stranger_key)):
                async with ManagerClient(target, transport, timeout=5) as refused:
                    with pytest.raises(ManagerError) as caught:
                        await refused.create_vm()
                    outcomes.append(caught.value)
            return created, outcomes
        finally:
            await server.stop(None)

    created, outcomes = run(main())
    assert created.cvm_id == "cvm-0"
    assert [o.code for o in outcomes] == ["manager-unavailable", "manager-unavailable"]
    assert all(o.grpc_code == grpc.StatusCode.UNAVAILABLE for o in outcomes)
    assert len(manager.vms) == 1  # the refused clients created nothing


def test_tls_with_target_name_override(tmp_path):
    pki = make_pki(tmp_path, server_names=("DNS:manager.cvm",))
    manager = TestManager()

    async def main():
        server, target = await _serve(manager, server_credentials(pki.server_cert, pki.server_key))
        try:
            async with ManagerClient(target, TlsTransport(pki.ca_pem, target_name_override="manager.cvm")) as good:
                info = await good.cvm_info("x")
            async with ManagerClient(target, TlsTransport(pki.ca_pem), timeout=5) as mismatched:
                with pytest.raises(ManagerError) as caught:
                    await mismatched.cvm_info("x")
            return info, caught.value
        finally:
            await server.stop(None)

    info, error = run(main())
    assert info.id == "x" and error.code == "manager-unavailable"


def test_transports_refuse_non_pem():
    with pytest.raises(BadInput, match="server CA certificate is not PEM"):
        TlsTransport(b"garbage")
    with pytest.raises(BadInput, match="client key is not PEM"):
        MutualTlsTransport(b"-----BEGIN CERTIFICATE-----", b"-----BEGIN CERTIFICATE-----", b"")
