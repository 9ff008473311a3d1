"""AgentClient uploads against a real grpc.aio agent on loopback: chunks, order, metadata, progress."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from cocos_wire_agent import MiB, TestAgent, serve_agent, signer
from core.cocos.agent_client import AgentClient
from core.cocos.channels import PlainTransport
from core.cocos.errors import AgentUnavailable
from core.errors import BadInput, Refused
from core.keys.keystore import KdfParams, Keystore


def run(coro, timeout: float = 60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def write(path: Path, size: int, seed: bytes = b"x") -> Path:
    block = hashlib.shake_256(seed).digest(MiB)
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            handle.write(block[: min(MiB, remaining)])
            remaining -= min(MiB, remaining)
    return path


def sha3(path: Path) -> bytes:
    digest = hashlib.sha3_256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(MiB), b""):
            digest.update(block)
    return digest.digest()


def test_algorithm_upload_chunks_order_metadata_and_progress(tmp_path):
    requirements = write(tmp_path / "requirements.txt", MiB + MiB // 2, b"req")
    algorithm = write(tmp_path / "algo.py", 2 * MiB + MiB // 2 + 3, b"algo")
    agent = TestAgent(algo_hash=sha3(algorithm), datasets={"data.csv": bytes(32)})
    seen: list[tuple[int, int]] = []

    async def main():
        async with serve_agent(agent) as target, AgentClient(target=target, transport=PlainTransport(),
                                                              signer=signer) as client:
            await client.upload_algorithm(algorithm, algo_type="python", algo_args=["datasets/data.csv", "--x=1"],
                                          requirements=requirements, progress=lambda d, t: seen.append((d, t)))

    run(main())
    (upload,) = agent.uploads
    assert upload.kinds == ["requirements"] * 2 + ["algorithm"] * 3
    assert upload.sizes == [MiB, MiB // 2, MiB, MiB, MiB // 2 + 3]
    meta = upload.metadata
    assert [v for k, v in meta if k == "signature"] == [signer("algorithm-provider")]
    assert [v for k, v in meta if k == "user-id"] == ["algorithm-provider"]
    assert [v for k, v in meta if k == "algo_type"] == ["python"]
    assert [v for k, v in meta if k == "algo_args"] == ["datasets/data.csv", "--x=1"]
    total = requirements.stat().st_size + algorithm.stat().st_size
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert all(b[0] > a[0] for a, b in zip(seen, seen[1:])) and {t for _, t in seen} == {total}
    assert agent.state == "ReceivingData"


def test_algorithm_without_requirements_sends_algo_type_and_no_args(tmp_path):
    algorithm = write(tmp_path / "algo.bin", 10)
    agent = TestAgent(algo_hash=sha3(algorithm), datasets={})

    async def main():
        async with serve_agent(agent) as target, AgentClient(target=target, transport=PlainTransport(),
                                                              signer=signer) as client:
            await client.upload_algorithm(algorithm, algo_type="bin")

    run(main())
    (upload,) = agent.uploads
    assert upload.kinds == ["algorithm"] and upload.sizes == [10]
    assert [k for k, _ in upload.metadata if k in ("signature", "user-id", "algo_type", "algo_args")] == [
        "signature", "user-id", "algo_type"]
    assert agent.state == "Running"


def test_dataset_upload_carries_filename_on_every_chunk(tmp_path):
    dataset = write(tmp_path / "local-name.csv", 2 * MiB + 1, b"data")
    agent = TestAgent(algo_hash=bytes(32), datasets={"data.csv": sha3(dataset)})
    agent.state = "ReceivingData"
    seen: list[tuple[int, int]] = []

    async def main():
        async with serve_agent(agent) as target, AgentClient(target=target, transport=PlainTransport(),
                                                              signer=signer) as client:
            await client.upload_dataset(dataset, filename="data.csv", progress=lambda d, t: seen.append((d, t)))

    run(main())
    (upload,) = agent.uploads
    assert upload.sizes == [MiB, MiB, 1] and upload.filenames == ["data.csv"] * 3
    assert [v for k, v in upload.metadata if k == "user-id"] == ["data-provider"]
    assert [v for k, v in upload.metadata if k == "signature"] == [signer("data-provider")]
    assert [v for k, v in upload.metadata if k == "decompress"] == ["false"]
    assert seen == [(0, 2 * MiB + 1), (MiB, 2 * MiB + 1), (2 * MiB, 2 * MiB + 1), (2 * MiB + 1, 2 * MiB + 1)]
    assert agent.state == "Running"


def test_decompressed_dataset_is_checked_as_a_zip_before_sending(tmp_path):
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("rows/a.csv", "a,b\n")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../outside.csv", "x")
    not_zip = write(tmp_path / "plain.csv", 100)
    agent = TestAgent(algo_hash=bytes(32), datasets={"good": sha3(good)})
    agent.state = "ReceivingData"

    async def main():
        async with serve_agent(agent) as target, AgentClient(target=target, transport=PlainTransport(),
                                                              signer=signer) as client:
            for bad, reason in ((evil, "outside the dataset folder"), (not_zip, "not a readable zip")):
                with pytest.raises(BadInput, match=reason):
                    await client.upload_dataset(bad, filename="good", decompress=True)
            assert agent.uploads == []
            await client.upload_dataset(good, filename="good", decompress=True)

    run(main())
    assert [v for k, v in agent.uploads[0].metadata if k == "decompress"] == ["true"]


def test_local_refusals_before_any_byte_is_sent(tmp_path):
    algorithm = write(tmp_path / "algo", 5)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    agent = TestAgent(algo_hash=sha3(algorithm), datasets={})

    async def main():
        async with serve_agent(agent) as target:
            async with AgentClient(target=target, transport=PlainTransport(), signer=signer) as client:
                with pytest.raises(BadInput, match="not one of bin, python, wasm, docker"):
                    await client.upload_algorithm(algorithm, algo_type="java")
                with pytest.raises(BadInput, match="is empty"):
                    await client.upload_algorithm(empty, algo_type="bin")
                with pytest.raises(BadInput, match="does not exist"):
                    await client.upload_algorithm(tmp_path / "missing", algo_type="bin")
                with pytest.raises(BadInput, match="printable ASCII"):
                    await client.upload_algorithm(algorithm, algo_type="bin", algo_args=["naïve"])
                with pytest.raises(BadInput, match="file name exactly"):
                    await client.upload_dataset(algorithm, filename="")
            async with AgentClient(target=target, transport=PlainTransport()) as unsigned:
                with pytest.raises(Refused) as caught:
                    await unsigned.upload_algorithm(algorithm, algo_type="bin")
                assert caught.value.code == "no-signer"

    run(main())
    assert agent.uploads == []


def test_keystore_key_signs_the_upload(tmp_path):
    algorithm = write(tmp_path / "algo", 7)
    with Keystore.create(tmp_path / "ks.prks", passphrase="pw", kdf=KdfParams.FAST) as keystore:
        entry = keystore.generate("alice", "ecdsa-p256")
        agent = TestAgent(algo_hash=sha3(algorithm), datasets={}, keys=(entry.public_der,))

        async def main():
            async with serve_agent(agent) as target, AgentClient(
                    target=target, transport=PlainTransport(),
                    signer=lambda role: keystore.sign_role("alice", role)) as client:
                await client.upload_algorithm(algorithm, algo_type="bin")

        run(main())
    assert agent.state == "Running"


def test_fifty_mib_upload_stays_flat_in_memory(tmp_path):
    size = 50 * MiB + 123
    algorithm = write(tmp_path / "big.bin", size, b"big")
    agent = TestAgent(algo_hash=sha3(algorithm), datasets={})

    async def main():
        async with serve_agent(agent) as target, AgentClient(target=target, transport=PlainTransport(),
                                                              signer=signer) as client:
            tracemalloc.start()
            try:
                await client.upload_algorithm(algorithm, algo_type="bin")
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    peak = run(main())
    assert agent.uploads[0].total == size and len(agent.uploads[0].sizes) == 51
    # Client and agent share this process, so the peak holds both sides' in-flight chunks.
    assert peak < 12 * MiB, f"peak {peak / MiB:.1f} MiB for a {size / MiB:.0f} MiB upload"


def test_cancelling_the_task_stops_the_upload(tmp_path):
    size = 40 * MiB
    algorithm = write(tmp_path / "big.bin", size, b"cancel")
    agent = TestAgent(algo_hash=sha3(algorithm), datasets={})
    seen: list[int] = []

    async def main():
        async with serve_agent(agent) as target, AgentClient(target=target, transport=PlainTransport(),
                                                              signer=signer) as client:
            task: asyncio.Task | None = None

            def progress(done: int, total: int) -> None:
                seen.append(done)
                if done >= 3 * MiB and task is not None:
                    task.cancel()

            task = asyncio.ensure_future(client.upload_algorithm(algorithm, algo_type="bin", progress=progress))
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.2)  # let the agent notice the cancelled stream
            assert agent.state == "ReceivingAlgorithm"
            # the same client still works afterwards
            small = write(tmp_path / "small.bin", 4, b"s")
            agent.algo_hash = sha3(small)
            await client.upload_algorithm(small, algo_type="bin")

    run(main())
    assert max(seen) < size
    assert agent.uploads[0].total < size
    assert agent.state == "Running"


def test_unreachable_agent_is_a_typed_error(tmp_path):
    algorithm = write(tmp_path / "algo", 3)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main():
        async with AgentClient(target=f"127.0.0.1:{port}", transport=PlainTransport(), signer=signer) as client:
            with pytest.raises(AgentUnavailable, match="opens its port only after") as caught:
                await client.upload_algorithm(algorithm, algo_type="bin")
            assert caught.value.grpc_code.name == "UNAVAILABLE"
            assert await client.health() is False

    run(main())
