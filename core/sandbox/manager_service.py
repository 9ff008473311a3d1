"""``manager.ManagerService`` for the sandbox host (COCOS-PROTOCOL.md §9).

CreateVm starts an agent process and answers its forwarded port and a UUID; RemoveVm stops it;
CVMInfo echoes the id with the host's fixed facts; AttestationPolicy returns a CoRIM naming the
sandbox launch measurement with product "EPYC", as the real manager names its QEMU CPU model.
Errors carry the manager's own strings so clients map them as they would the real ones.
"""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from core.attestation.corim import corim_from_snp_policy
from core.attestation.snp.policy import SnpPolicy
from core.errors import PrismError
from core.sandbox.host import ERR_NOT_FOUND, SandboxHost, VmNotFound
from core.sandbox.tee import SANDBOX_MEASUREMENT
from proto.manager import manager_pb2, manager_pb2_grpc

OVMF_VERSION = "edk2-stable202502-sandbox"
CPU_TYPE = "EPYC"
EOS_VERSION = "sandbox"


def sandbox_corim(product: str = CPU_TYPE) -> bytes:
    """The reference values of a sandbox CVM: its one launch measurement (ATTESTATION.md §1.6)."""
    return corim_from_snp_policy(SnpPolicy(measurements=(SANDBOX_MEASUREMENT,)), product)


class SandboxManagerService(manager_pb2_grpc.ManagerServiceServicer):
    def __init__(self, host: SandboxHost, *, cpu_num: int = 2) -> None:
        self.host = host
        self.cpu_num = cpu_num

    async def CreateVm(self, request: manager_pb2.CreateReq,  # noqa: N802
                       context: grpc.aio.ServicerContext) -> manager_pb2.CreateRes:
        try:
            record = await self.host.create_vm(request)
        except PrismError as exc:
            # Go's status for a plain error is Unknown; clients read the text.
            await context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        return manager_pb2.CreateRes(forwarded_port=str(record.port), cvm_id=record.cvm_id)

    async def RemoveVm(self, request: manager_pb2.RemoveReq,  # noqa: N802
                       context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        try:
            await self.host.remove_vm(request.cvm_id)
        except VmNotFound:
            await context.abort(grpc.StatusCode.NOT_FOUND, ERR_NOT_FOUND)
        return empty_pb2.Empty()

    async def CVMInfo(self, request: manager_pb2.CVMInfoReq,  # noqa: N802
                      context: grpc.aio.ServicerContext) -> manager_pb2.CVMInfoRes:
        # Echoed, not looked up, exactly like the real manager (§9).
        return manager_pb2.CVMInfoRes(id=request.id, ovmf_version=OVMF_VERSION, cpu_num=self.cpu_num,
                                      cpu_type=CPU_TYPE, eos_version=EOS_VERSION)

    async def AttestationPolicy(self, request: manager_pb2.AttestationPolicyReq,  # noqa: N802
                                context: grpc.aio.ServicerContext) -> manager_pb2.AttestationPolicyRes:
        return manager_pb2.AttestationPolicyRes(info=sandbox_corim(), id=request.id)


async def serve_manager(host: SandboxHost, *, port: int = 0, address: str = "127.0.0.1") -> tuple[grpc.aio.Server, int]:
    """Start the servicer on ``address:port`` (0 = any free port); returns the server and its port."""
    server = grpc.aio.server()
    manager_pb2_grpc.add_ManagerServiceServicer_to_server(SandboxManagerService(host), server)
    try:
        bound = server.add_insecure_port(f"{address}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise PrismError(f"the sandbox manager cannot listen on {address}:{port}; choose another --port",
                         code="sandbox-manager-port")
    await server.start()
    return server, bound
