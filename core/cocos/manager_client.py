"""The client for ``manager.ManagerService`` (COCOS-PROTOCOL.md §9): provision and inspect CVMs.

The manager has no application-level authentication; who may call it is decided by its
transport (plain, TLS or mTLS), which the caller picks with a ``core.cocos.channels`` factory.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import grpc

from core.cocos.channels import ChannelFactory, PlainTransport, parse_go_duration
from core.cocos.errors import map_manager_error
from core.errors import BadInput
from proto.manager import manager_pb2, manager_pb2_grpc

__all__ = ["AttestationPolicy", "CreatedVm", "CvmInfo", "ManagerClient", "VmSpec"]

LOG_LEVELS = ("", "debug", "info", "warn", "error")


@dataclass(frozen=True, slots=True)
class VmSpec:
    """``CreateReq``, field for field (§9). PEM values are bytes, the rest text."""

    agent_log_level: str = ""
    agent_cvm_server_ca_cert: bytes = b""
    agent_cvm_client_key: bytes = field(default=b"", repr=False)
    agent_cvm_client_cert: bytes = b""
    agent_cvm_server_url: str = ""
    agent_cvm_ca_url: str = ""
    ttl: str = ""
    agent_certs_token: str = field(default="", repr=False)
    aws_access_key_id: str = ""
    aws_secret_access_key: str = field(default="", repr=False)
    aws_endpoint_url: str = ""
    aws_region: str = ""
    aa_kbs_params: str = ""

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            expected = bytes if item.name in _PEM_FIELDS else str
            if not isinstance(value, expected):
                raise BadInput(f"CreateVm field {item.name} must be {expected.__name__}, not {type(value).__name__}")
        if self.agent_log_level not in LOG_LEVELS:
            raise BadInput(f"agent log level {self.agent_log_level!r} is not one of debug, info, warn, error")
        if self.ttl:
            # The manager parses the TTL only after booting the VM and leaves it running on error (§14 #26).
            parse_go_duration(self.ttl)

    def to_request(self) -> manager_pb2.CreateReq:
        return manager_pb2.CreateReq(**{item.name: getattr(self, item.name) for item in fields(self)})


_PEM_FIELDS = frozenset({"agent_cvm_server_ca_cert", "agent_cvm_client_key", "agent_cvm_client_cert"})


@dataclass(frozen=True, slots=True)
class CreatedVm:
    cvm_id: str
    forwarded_port: int  # host port forwarded to the agent's 7002

    def agent_target(self, manager_host: str) -> str:
        """Where the agent is reached: the manager's host and the forwarded port (§9)."""
        return f"{manager_host}:{self.forwarded_port}"


@dataclass(frozen=True, slots=True)
class CvmInfo:
    id: str  # echoed by the manager, not looked up (§14 #23)
    ovmf_version: str
    cpu_num: int
    cpu_type: str
    kernel_cmd: str  # never populated by the manager
    eos_version: str


@dataclass(frozen=True, slots=True)
class AttestationPolicy:
    id: str
    info: bytes  # CoRIM (CBOR, maybe COSE_Sign1-signed); ATTESTATION.md §1.6


class ManagerClient:
    """One manager at ``target`` (``host:port``); use ``async with`` or ``await close()``."""

    def __init__(self, target: str, transport: ChannelFactory | None = None, *, timeout: float | None = 60.0) -> None:
        if not isinstance(target, str) or not target.strip():
            raise BadInput("the manager address is empty; give host:port")
        self.target = target
        self._transport = transport or PlainTransport()
        self._timeout = timeout
        self._channel: grpc.aio.Channel | None = None

    async def __aenter__(self) -> ManagerClient:
        self._stub()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close()

    async def create_vm(self, spec: VmSpec | None = None) -> CreatedVm:
        response = await self._call("CreateVm", (spec or VmSpec()).to_request(), "create CVM")
        port = response.forwarded_port
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise BadInput(f"the manager created CVM {response.cvm_id} but returned the port {port!r}, "
                           "which is not a TCP port; remove the CVM and create it again")
        return CreatedVm(cvm_id=response.cvm_id, forwarded_port=int(port))

    async def remove_vm(self, cvm_id: str) -> None:
        await self._call("RemoveVm", manager_pb2.RemoveReq(cvm_id=_id(cvm_id)), f"remove CVM {cvm_id}")

    async def cvm_info(self, cvm_id: str) -> CvmInfo:
        r = await self._call("CVMInfo", manager_pb2.CVMInfoReq(id=_id(cvm_id)), f"CVM info for {cvm_id}")
        return CvmInfo(id=r.id, ovmf_version=r.ovmf_version, cpu_num=r.cpu_num, cpu_type=r.cpu_type,
                       kernel_cmd=r.kernel_cmd, eos_version=r.eos_version)

    async def attestation_policy(self, cvm_id: str) -> AttestationPolicy:
        request = manager_pb2.AttestationPolicyReq(id=_id(cvm_id))
        r = await self._call("AttestationPolicy", request, f"attestation policy for {cvm_id}")
        return AttestationPolicy(id=r.id, info=r.info)

    def _stub(self) -> manager_pb2_grpc.ManagerServiceStub:
        if self._channel is None:
            self._channel = self._transport.open(self.target)
        return manager_pb2_grpc.ManagerServiceStub(self._channel)

    async def _call(self, method: str, request: Any, operation: str) -> Any:
        try:
            return await getattr(self._stub(), method)(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise map_manager_error(error, operation=operation, target=self.target) from None


def _id(cvm_id: object) -> str:
    if not isinstance(cvm_id, str) or not cvm_id:
        raise BadInput("a CVM id is needed (the cvm_id CreateVm returned)")
    return cvm_id
