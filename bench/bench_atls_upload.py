"""Upload throughput over aTLS (AtlsTransport + AgentClient) as a ratio to a raw TLS 1.3 socket,
and the client's peak RSS growth while uploading a 2 GiB file through the bridge.

The servers (a test aTLS front with SandboxTee evidence relaying to a grpc.aio sink agent, and a
raw TLS 1.3 sink) run in a child process so the client's RSS and CPU are its own. The upload
files are sparse temporary files, deleted at the end.

    .venv/bin/python bench/bench_atls_upload.py [--mib 256] [--big-gib 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "atls_transport"))  # the test-only aTLS server

MiB = 1024 * 1024


# --- child: the servers ---------------------------------------------------------------------------

def _tls_sink(cert_pem: Path) -> int:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert_pem)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            sock, _ = listener.accept()
            with ctx.wrap_socket(sock, server_side=True) as tls:
                expected, total = int.from_bytes(tls.recv(8), "big"), 0
                while total < expected and (chunk := tls.recv(MiB)):
                    total += len(chunk)
                tls.sendall(total.to_bytes(8, "big"))

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


async def _serve() -> None:
    import grpc
    from cryptography.hazmat.primitives import serialization

    from atlsx_server import AtlsTestServer, make_identity, shared_tee
    from proto.agent import agent_pb2, agent_pb2_grpc

    class Sink(agent_pb2_grpc.AgentServiceServicer):
        async def Algo(self, request_iterator, context):  # noqa: N802, ANN001, ANN201
            async for _ in request_iterator:
                pass
            return agent_pb2.AlgoResponse()

    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 8 * MiB)])
    agent_pb2_grpc.add_AgentServiceServicer_to_server(Sink(), server)
    backend = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    atls = AtlsTestServer(backend)
    cert, key = make_identity()
    pem = Path(tempfile.mkdtemp()) / "sink.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ark = shared_tee().ark_certificate().public_bytes(serialization.Encoding.PEM).decode()
    print(json.dumps({"atls": atls.port, "tls": _tls_sink(pem), "ark": ark}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent is done


# --- parent: the measurements ---------------------------------------------------------------------

def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def _raw_tls(port: int, size: int) -> float:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    block = bytes(MiB)
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock, ctx.wrap_socket(sock) as tls:
        tls.sendall(size.to_bytes(8, "big"))
        for _ in range(size // MiB):
            tls.sendall(block)
        received = int.from_bytes(tls.recv(8), "big")
    elapsed = time.perf_counter() - start
    assert received == size, (received, size)
    return elapsed


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


async def _atls_uploads(port: int, ark_pem: str, files: list[Path]) -> list[tuple[float, float, float]]:
    """(seconds, peak RSS before, peak RSS after) per file, one verified connection for all."""
    from cryptography import x509

    from core.atls.bridge import AtlsTransport
    from core.atls.gate import AttestationGate
    from core.attestation.roots import TrustStore
    from core.attestation.snp.policy import SnpPolicy
    from core.cocos.agent_client import AgentClient
    from core.sandbox.tee import SANDBOX_MEASUREMENT

    trust = TrustStore()
    trust.add_sandbox_root(x509.load_pem_x509_certificate(ark_pem.encode()))
    gate = AttestationGate(SnpPolicy(measurements=(SANDBOX_MEASUREMENT,), vmpl=2), trust=trust)
    target = f"127.0.0.1:{port}"
    out = []
    async with AtlsTransport(gate) as transport:
        await transport.connect(target)
        async with AgentClient(target=target, transport=transport, signer=lambda role: "c2lnbmF0dXJl") as client:
            warm = _sparse(files[0].with_suffix(".warm"), 8 * MiB)
            await client.upload_algorithm(warm, algo_type="bin")  # channel, relay and buffers exist now
            warm.unlink()
            for path in files:
                before = _peak_rss_mib()
                start = time.perf_counter()
                await client.upload_algorithm(path, algo_type="bin")
                out.append((time.perf_counter() - start, before, _peak_rss_mib()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256, help="size of the throughput upload (MiB)")
    parser.add_argument("--big-gib", type=float, default=2.0, help="size of the RSS upload (GiB)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING,
                        format=f"{'server' if args.serve else 'client'} %(threadName)s %(name)s: %(message)s")
    if args.serve:
        asyncio.run(_serve())
        return
    child = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        ports = json.loads(child.stdout.readline())
        size, big = args.mib * MiB, int(args.big_gib * 1024) * MiB
        with tempfile.TemporaryDirectory(prefix="prism-bench-atls-") as tmp:
            small, large = _sparse(Path(tmp) / "upload.bin", size), _sparse(Path(tmp) / "big.bin", big)
            raw = min(_raw_tls(ports["tls"], size) for _ in range(2))
            (t1, _, _), (t2, _, _), (t_big, rss_before, rss_after) = asyncio.run(
                _atls_uploads(ports["atls"], ports["ark"], [small, small, large]))
        atls = min(t1, t2)
        print(f"raw TLS 1.3 socket : {size / MiB / raw:8.1f} MiB/s ({args.mib} MiB in {raw:.2f} s)")
        print(f"aTLS bridge+client : {size / MiB / atls:8.1f} MiB/s ({args.mib} MiB in {atls:.2f} s)")
        print(f"ratio aTLS / raw   : {raw / atls:8.2f}")
        print(f"{big / MiB / 1024:.1f} GiB via aTLS   : {big / MiB / t_big:8.1f} MiB/s in {t_big:.1f} s; peak RSS "
              f"{rss_before:.0f} -> {rss_after:.0f} MiB, growth {rss_after - rss_before:.1f} MiB (goal < 64)")
    finally:
        child.stdin.close()
        child.wait(timeout=30)


if __name__ == "__main__":
    main()
