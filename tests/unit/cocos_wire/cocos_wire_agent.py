"""A minimal agent for the client tests: real grpc.aio on 127.0.0.1, the real agent's rules.

It checks the ``signature`` metadata with the agent's own verification, enforces the state
admission rules of COCOS-PROTOCOL.md §5.3, hashes uploads incrementally (it keeps only chunk
sizes, so large uploads cost it no memory), and answers with the agent's exact error strings
and status codes (§3.6).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.keys.signatures import role_signature_b64, verify_role_signature
from proto.agent import agent_pb2, agent_pb2_grpc

SEED = bytes(range(32))  # the Ed25519 test key of §4.4
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
SPKI = KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
MiB = 1024 * 1024

ERR_STATE = "agent not expecting this operation in the current state"
ERR_HASH = "malformed data, hash does not match manifest"
ERR_UNDECLARED = "dataset not declared in computation manifest"
ERR_NOT_READY = "computation results are not yet ready"
ERR_ALL_RECEIVED = "all expected manifest Items have been received"
ERR_DECOMPRESS = "error decompressing dataset"


def signer(role: str) -> str:
    return role_signature_b64(KEY, role)


@dataclass
class Upload:
    """What one Algo or Data call carried."""

    metadata: list[tuple[str, str]]
    kinds: list[str] = field(default_factory=list)  # "requirements" / "algorithm" / "dataset", per message
    sizes: list[int] = field(default_factory=list)
    filenames: list[str] = field(default_factory=list)
    total: int = 0


class TestAgent(agent_pb2_grpc.AgentServiceServicer):
    __test__ = False  # not a pytest class

    def __init__(self, *, algo_hash: bytes, datasets: dict[str, bytes], keys: tuple[bytes, ...] = (SPKI,),
                 result: bytes = b"", ready_after: int = 0, run_error: str = "", evidence: bytes = b"") -> None:
        self.state = "ReceivingAlgorithm"
        self.algo_hash = algo_hash
        self.pending = dict(datasets)  # filename -> SHA3-256
        self.keys = keys
        self.result = result
        self.ready_after = ready_after  # Result polls answered "not ready" before the result appears
        self.run_error = run_error
        self.evidence = evidence
        self.uploads: list[Upload] = []
        self.result_polls = 0
        self.attestation_requests: list[agent_pb2.AttestationRequest] = []
        self.serving = True
        self.stream_started = asyncio.Event()

    async def _authenticate(self, context: grpc.aio.ServicerContext, role: str) -> list[tuple[str, str]]:
        metadata = [(m.key, m.value) for m in context.invocation_metadata()]
        values = [v for k, v in metadata if k == "signature"]
        if len(values) != 1:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid metadata: expected one signature")
        signature = base64.b64decode(values[0])
        if not any(verify_role_signature(key, role, signature) for key in self.keys):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "signature verification failed")
        return metadata

    async def Algo(self, request_iterator: AsyncIterator[agent_pb2.AlgoRequest], context):  # noqa: N802
        upload = Upload(await self._authenticate(context, "algorithm-provider"))
        if self.state != "ReceivingAlgorithm":
            await context.abort(grpc.StatusCode.UNKNOWN, ERR_STATE)
        self.uploads.append(upload)
        digest = hashlib.sha3_256()
        async for request in request_iterator:
            self.stream_started.set()
            for kind in ("requirements", "algorithm"):
                piece = getattr(request, kind)
                if piece:
                    upload.kinds.append(kind)
                    upload.sizes.append(len(piece))
                    upload.total += len(piece)
                    if kind == "algorithm":
                        digest.update(piece)
        if "algorithm" not in upload.kinds:
            await context.abort(grpc.StatusCode.UNKNOWN, "algorithm binary is required")
        if digest.digest() != self.algo_hash:
            await context.abort(grpc.StatusCode.UNKNOWN, ERR_HASH)
        self.state = "ReceivingData" if self.pending else "Running"
        return agent_pb2.AlgoResponse()

    async def Data(self, request_iterator: AsyncIterator[agent_pb2.DataRequest], context):  # noqa: N802
        upload = Upload(await self._authenticate(context, "data-provider"))
        if self.state != "ReceivingData":
            await context.abort(grpc.StatusCode.UNKNOWN, ERR_STATE)
        self.uploads.append(upload)
        digest, name = hashlib.sha3_256(), ""
        async for request in request_iterator:
            self.stream_started.set()
            upload.kinds.append("dataset")
            upload.sizes.append(len(request.dataset))
            upload.filenames.append(request.filename)
            upload.total += len(request.dataset)
            digest.update(request.dataset)
            name = request.filename or name
        if name not in self.pending:
            await context.abort(grpc.StatusCode.UNKNOWN, ERR_UNDECLARED)
        if digest.digest() != self.pending[name]:
            await context.abort(grpc.StatusCode.UNKNOWN, ERR_HASH)
        del self.pending[name]
        if not self.pending:
            self.state = "Running"
        return agent_pb2.DataResponse()

    async def Result(self, request, context):  # noqa: N802
        await self._authenticate(context, "consumer")
        self.result_polls += 1
        if self.state == "Running" and self.result_polls > self.ready_after:
            self.state = "Failed" if self.run_error else "ConsumingResults"
        if self.state == "Failed":
            await context.abort(grpc.StatusCode.UNKNOWN, self.run_error)
        if self.state not in ("ConsumingResults", "Complete"):
            await context.abort(grpc.StatusCode.UNKNOWN, ERR_NOT_READY)
        await context.send_initial_metadata((("file-size", str(len(self.result))),))
        for start in range(0, len(self.result), MiB):
            yield agent_pb2.ResultResponse(file=self.result[start : start + MiB])
        self.state = "Complete"

    async def Attestation(self, request, context):  # noqa: N802
        self.attestation_requests.append(request)
        if len(request.teeNonce) > 64:
            await context.abort(grpc.StatusCode.UNKNOWN, "malformed report data, expect less or equal to 64 bytes")
        if len(request.vtpmNonce) > 32:
            await context.abort(grpc.StatusCode.UNKNOWN, "malformed vTPM nonce, expect less or equal to 32 bytes")
        if request.type not in range(5):
            await context.abort(grpc.StatusCode.UNKNOWN, "invalid attestation type")
        if request.type == 4:
            await context.abort(grpc.StatusCode.UNKNOWN, "failed to get raw quote : no such device")
        await context.send_initial_metadata((("file-size", str(len(self.evidence))),))
        third = max(1, len(self.evidence) // 3)
        for start in range(0, len(self.evidence), third):
            yield agent_pb2.AttestationResponse(file=self.evidence[start : start + third])

    async def health_check(self, request: bytes, context) -> bytes:
        # grpc.health.v1.HealthCheckRequest{service}: 0x0a, length, name
        service = request[2:].decode() if request[:1] == b"\x0a" else ""
        if service != "agent":
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return b"\x08\x01" if self.serving else b"\x08\x02"


@asynccontextmanager
async def serve_agent(agent: TestAgent, credentials: grpc.ServerCredentials | None = None) -> AsyncIterator[str]:
    """The agent on an ephemeral loopback port (TLS with ``credentials``); yields its target."""
    server = grpc.aio.server()
    agent_pb2_grpc.add_AgentServiceServicer_to_server(agent, server)
    health = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(agent.health_check),
    })
    server.add_generic_rpc_handlers((health,))
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    try:
        yield f"localhost:{port}" if credentials else f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)
