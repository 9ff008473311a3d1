"""Shared pieces for the sandbox tests: one TEE per session, participants, a loopback server."""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from core.cocos.computation import Algorithm, Computation, Dataset, ResultConsumer
from core.keys.signatures import role_signature_b64
from core.sandbox.agent_service import SandboxAgentService
from core.sandbox.state import AgentEvent, AgentLog
from core.sandbox.tee import SandboxTee
from proto.agent import agent_pb2, agent_pb2_grpc

SUM_ALGORITHM = b"""import csv, pathlib, sys
total = 0
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        total += int(row["value"])
pathlib.Path("results").mkdir(exist_ok=True)
pathlib.Path("results/sum.txt").write_text(str(total))
print("sum is", total)
"""
CSV = b"name,value\na,10\nb,32\nc,-2\n"


@cache
def shared_tee() -> SandboxTee:
    """RSA-4096 generation is slow, so the tests share one sandbox chain (in a temp dir)."""
    state = tempfile.mkdtemp(prefix="prism-sandbox-tee-")
    atexit.register(shutil.rmtree, state, True)
    tee = SandboxTee(state)
    tee.ark_certificate()
    return tee


def spki(private_key) -> bytes:  # noqa: ANN001
    return private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class Party:
    algo: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)
    data: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    consumer: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)


def computation(party: Party, *, algorithm: bytes = SUM_ALGORITHM,
                datasets: dict[str, bytes] | None = None) -> Computation:
    datasets = {"data.csv": CSV} if datasets is None else datasets
    return Computation(
        id="c1", name="sum", description="sum a column",
        algorithm=Algorithm(hash=hashlib.sha3_256(algorithm).digest(), user_key=spki(party.algo)),
        datasets=tuple(Dataset(hash=hashlib.sha3_256(b).digest(), user_key=spki(party.data), filename=n)
                       for n, b in datasets.items()),
        result_consumers=(ResultConsumer(user_key=spki(party.consumer)),),
    )


def md(key, role: str, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:  # noqa: ANN001
    return (("signature", role_signature_b64(key, role)), ("user-id", role), *extra)


@dataclass
class Harness:
    service: SandboxAgentService
    stub: agent_pb2_grpc.AgentServiceStub
    events: list[AgentEvent]
    logs: list[AgentLog]


@asynccontextmanager
async def serve(comp: Computation, tmp_path, **kwargs) -> AsyncIterator[Harness]:  # noqa: ANN001
    events: list[AgentEvent] = []
    logs: list[AgentLog] = []
    service = SandboxAgentService(comp, shared_tee(), work_dir=tmp_path / "cocos", run_timeout=30,
                                  on_event=events.append, on_log=logs.append, **kwargs)
    server = grpc.aio.server()
    agent_pb2_grpc.add_AgentServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Harness(service, agent_pb2_grpc.AgentServiceStub(channel), events, logs)
    finally:
        await channel.close()
        await server.stop(None)


async def send_algo(h: Harness, key, algorithm: bytes = SUM_ALGORITHM, *,  # noqa: ANN001
                    role: str = "algorithm-provider", algo_type: str = "python",
                    args: tuple[str, ...] = ("datasets/data.csv",)) -> None:
    meta = md(key, role, ("algo_type", algo_type), *(("algo_args", a) for a in args))
    await h.stub.Algo(iter([agent_pb2.AlgoRequest(algorithm=algorithm)]), metadata=meta)


async def send_data(h: Harness, key, filename: str, data: bytes, *,  # noqa: ANN001
                    role: str = "data-provider", decompress: bool = False) -> None:
    extra = (("decompress", "true"),) if decompress else ()
    chunks = [data[i:i + 5] for i in range(0, len(data), 5)] or [b""]
    await h.stub.Data(iter([agent_pb2.DataRequest(dataset=c, filename=filename) for c in chunks]),
                      metadata=md(key, role, *extra))


async def fetch_result(h: Harness, key, role: str = "consumer") -> tuple[str, bytes]:  # noqa: ANN001
    call = h.stub.Result(agent_pb2.ResultRequest(), metadata=md(key, role))
    header = dict(await call.initial_metadata())
    body = b"".join([r.file async for r in call])
    return header.get("file-size", ""), body
