"""Result polling and download, Attestation concatenation and nonce checks, health — over loopback."""

from __future__ import annotations

import asyncio
import hashlib

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cocos_wire_agent import ERR_NOT_READY, MiB, TestAgent, serve_agent, signer
from core.cocos import agent_client
from core.cocos.agent_client import AgentClient, AttestationType
from core.cocos.channels import PlainTransport
from core.cocos.errors import AttestationUnavailable, ComputationFailed, ResultsNotReady, Unauthenticated
from core.errors import BadInput

RESULT = hashlib.shake_256(b"result").digest(2 * MiB + 17)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def running_agent(**kwargs) -> TestAgent:
    agent = TestAgent(algo_hash=bytes(32), datasets={}, **kwargs)
    agent.state = "Running"
    return agent


async def _client_for(agent, body, **kwargs):
    async with serve_agent(agent) as target, AgentClient(target=target, transport=PlainTransport(),
                                                          signer=signer, **kwargs) as client:
        return await body(client)


def test_result_polls_until_ready_and_reports_file_size_progress(tmp_path):
    agent = running_agent(result=RESULT, ready_after=2)
    seen: list[tuple[int, int]] = []
    dest = tmp_path / "out" / "results.zip"

    path = run(_client_for(agent, lambda c: c.download_result(
        dest, poll_interval=0.01, progress=lambda d, t: seen.append((d, t)))))
    assert path == dest and dest.read_bytes() == RESULT
    assert agent.result_polls == 3 and agent.state == "Complete"
    total = len(RESULT)
    assert seen == [(0, total), (MiB, total), (2 * MiB, total), (total, total)]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["results.zip"]  # no temporary file left


def test_result_gives_up_after_max_wait(tmp_path):
    agent = running_agent(result=RESULT, ready_after=10**6)
    dest = tmp_path / "results.zip"
    with pytest.raises(ResultsNotReady, match="has not finished") as caught:
        run(_client_for(agent, lambda c: c.download_result(dest, poll_interval=0.01, max_wait=0.1)))
    assert caught.value.agent_message == ERR_NOT_READY and caught.value.grpc_code == grpc.StatusCode.UNKNOWN
    assert agent.result_polls >= 2
    assert list(tmp_path.iterdir()) == []


def test_failed_run_surfaces_the_run_error(tmp_path):
    agent = running_agent(run_error="algorithm execution error: exit status 1")
    with pytest.raises(ComputationFailed) as caught:
        run(_client_for(agent, lambda c: c.download_result(tmp_path / "r.zip", poll_interval=0.01)))
    assert caught.value.agent_message == "algorithm execution error: exit status 1"
    assert list(tmp_path.iterdir()) == []


def test_empty_result_is_an_empty_file(tmp_path):
    agent = running_agent(result=b"")
    seen: list[tuple[int, int]] = []
    run(_client_for(agent, lambda c: c.download_result(tmp_path / "r.zip", progress=lambda d, t: seen.append((d, t)))))
    assert (tmp_path / "r.zip").read_bytes() == b"" and seen == [(0, 0)]


def test_result_needs_the_consumer_signature(tmp_path):
    agent = running_agent(result=RESULT)
    agent.keys = ()
    with pytest.raises(Unauthenticated) as caught:
        run(_client_for(agent, lambda c: c.download_result(tmp_path / "r.zip")))
    assert caught.value.agent_message == "signature verification failed"


def test_attestation_concatenates_chunks_and_sends_the_nonces():
    evidence = hashlib.shake_256(b"eat").digest(1000)
    agent = running_agent(evidence=evidence)
    tee, vtpm = bytes(range(64)), bytes(range(32))
    token = run(_client_for(agent, lambda c: c.attestation(tee, vtpm, AttestationType.SNP_VTPM)))
    assert token == evidence
    (request,) = agent.attestation_requests
    assert (request.teeNonce, request.vtpmNonce, request.type) == (tee, vtpm, 2)


def test_attestation_nonces_and_types_are_checked_before_sending():
    agent = running_agent(evidence=b"x")

    async def body(client):
        with pytest.raises(BadInput, match="at most 64"):
            await client.attestation(bytes(65), b"", AttestationType.SNP)
        with pytest.raises(BadInput, match="at most 32"):
            await client.attestation(b"", bytes(33), AttestationType.VTPM)
        with pytest.raises(BadInput, match="invalid attestation type"):
            await client.attestation(b"", b"", AttestationType.NOCC)
        with pytest.raises(BadInput, match="not an attestation type"):
            await client.attestation(b"", b"", 9)
        assert agent.attestation_requests == []
        with pytest.raises(AttestationUnavailable) as caught:
            await client.attestation(b"n", b"v", AttestationType.TDX)
        return caught.value

    error = run(_client_for(agent, body))
    assert error.agent_message.startswith("failed to get raw quote")


def test_health_reports_serving_and_not_serving():
    agent = running_agent()

    async def body(client):
        first = await client.health()
        agent.serving = False
        second = await client.health()
        unknown = await client.health("other")
        return first, second, unknown

    assert run(_client_for(agent, body)) == (True, False, False)


def test_cancelling_a_download_leaves_no_file(tmp_path):
    agent = running_agent(result=hashlib.shake_256(b"big").digest(30 * MiB))

    async def body(client):
        task: asyncio.Task | None = None

        def progress(done, total):
            if done >= 2 * MiB and task is not None:
                task.cancel()

        task = asyncio.ensure_future(client.download_result(tmp_path / "r.zip", progress=progress))
        with pytest.raises(asyncio.CancelledError):
            await task

    run(_client_for(agent, body))
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_health_answer_parser_never_raises(data):
    assert isinstance(agent_client._health_status(data), int)


def test_health_codec_round_trip():
    assert agent_client._health_request("agent") == b"\x0a\x05agent"
    assert agent_client._health_status(b"\x08\x01") == 1
    assert agent_client._health_status(b"\x12\x02hi\x08\x02") == 2
    assert agent_client._health_status(b"\x08") == 0  # truncated


def test_an_external_channel_is_used_and_left_open():
    agent = running_agent()

    async def main():
        async with serve_agent(agent) as target:
            channel = grpc.aio.insecure_channel(target)
            async with AgentClient(channel, signer=signer) as client:
                assert await client.health() is True
            async with AgentClient(channel) as again:  # still open after the first client closed
                healthy = await again.health()
            await channel.close()
            return healthy

    assert run(main()) is True


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["file-size", "other"]), st.text(max_size=12)), max_size=4))
def test_file_size_header_parser_is_total(metadata):
    size = agent_client._file_size(metadata)
    assert isinstance(size, int) and size >= 0
