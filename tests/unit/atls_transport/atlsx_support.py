"""Shared pieces for the aTLS transport tests: a computation, its parties, the stack on loopback."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from atlsx_server import AtlsTestServer, shared_tee
from core.atls.gate import AttestationGate
from core.attestation.roots import TrustStore
from core.attestation.snp.policy import SnpPolicy
from core.cocos.computation import Algorithm, Computation, Dataset, ResultConsumer
from core.keys.signatures import role_signature_b64
from core.sandbox.agent_service import SandboxAgentService
from core.sandbox.tee import SANDBOX_MEASUREMENT
from proto.agent import agent_pb2_grpc

SUM_ALGORITHM = b"""import csv, pathlib, sys
total = 0
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        total += int(row["value"])
pathlib.Path("results").mkdir(exist_ok=True)
pathlib.Path("results/sum.txt").write_text(str(total))
"""
CSV = b"name,value\na,10\nb,32\nc,-2\n"


def run(coro, timeout: float = 90):  # noqa: ANN001, ANN201
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _spki(private_key) -> bytes:  # noqa: ANN001
    return private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class Party:
    algo: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)
    data: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    consumer: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)

    def signer(self, role: str) -> str:
        key = {"algorithm-provider": self.algo, "data-provider": self.data, "consumer": self.consumer}[role]
        return role_signature_b64(key, role)


def computation(party: Party, *, algorithm: bytes = SUM_ALGORITHM, dataset: bytes = CSV) -> Computation:
    return Computation(
        id="c1", name="sum", description="sum a column",
        algorithm=Algorithm(hash=hashlib.sha3_256(algorithm).digest(), user_key=_spki(party.algo)),
        datasets=(Dataset(hash=hashlib.sha3_256(dataset).digest(), user_key=_spki(party.data),
                          filename="data.csv"),),
        result_consumers=(ResultConsumer(user_key=_spki(party.consumer)),),
    )


def sandbox_policy(**overrides) -> SnpPolicy:  # noqa: ANN003
    values = {"measurements": (SANDBOX_MEASUREMENT,), "vmpl": 2, "debug_allowed": False}
    values.update(overrides)
    return SnpPolicy(**values)


def gate(*, trust_sandbox: bool = True, policy: SnpPolicy | None = None,
         comp: Computation | None = None) -> AttestationGate:
    trust = TrustStore()
    if trust_sandbox:
        trust.add_sandbox_root(shared_tee().ark_certificate())
    return AttestationGate(policy or sandbox_policy(), trust=trust, computation=comp)


@dataclass
class Stack:
    service: SandboxAgentService
    server: AtlsTestServer


@asynccontextmanager
async def stack(comp: Computation, tmp_path, **server_options) -> AsyncIterator[Stack]:  # noqa: ANN001, ANN003
    """The sandbox agent on an insecure loopback port, fronted by the test aTLS server."""
    service = SandboxAgentService(comp, shared_tee(), work_dir=tmp_path / "cocos", run_timeout=30)
    grpc_server = grpc.aio.server()
    agent_pb2_grpc.add_AgentServiceServicer_to_server(service, grpc_server)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    await grpc_server.start()
    server = AtlsTestServer(port, **server_options)
    try:
        yield Stack(service, server)
    finally:
        await asyncio.to_thread(server.close)
        await grpc_server.stop(None)
