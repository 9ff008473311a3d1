"""Chunked manifest delivery over cvms.Service/Process (COCOS-PROTOCOL.md §8.3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cocos_samples import demo_computation
from core.cocos.computation import ManifestError
from core.cocos.manifest import (
    RunRequestAssembler,
    assemble_run_request,
    from_run_request,
    run_request_chunks,
    to_run_request,
)
from proto.cvms import cvms_pb2


def _big_request(size: int) -> cvms_pb2.ComputationRunReq:
    msg = to_run_request(demo_computation())
    msg.description = "x" * size
    return msg


def test_small_manifest_is_one_chunk_then_an_empty_last():
    msg = to_run_request(demo_computation())
    messages = list(run_request_chunks(msg))
    assert [m.WhichOneof("message") for m in messages] == ["runReqChunks", "runReqChunks"]
    first, last = (m.runReqChunks for m in messages)
    assert (first.id, first.is_last, first.data) == ("1", False, msg.SerializeToString(deterministic=True))
    assert (last.id, last.is_last, last.data) == ("1", True, b"")


def test_default_chunk_size_is_one_mebibyte_and_reassembles():
    msg = _big_request(2_500_000)
    chunks = [m.runReqChunks for m in run_request_chunks(msg)]
    sizes = [len(c.data) for c in chunks]
    assert sizes[:2] == [1024 * 1024, 1024 * 1024] and 0 < sizes[2] < 1024 * 1024 and sizes[3] == 0
    assert [c.is_last for c in chunks] == [False, False, False, True]
    assert all(m.ByteSize() < 4 * 1024 * 1024 for m in run_request_chunks(msg))  # gRPC's default limit
    assert assemble_run_request(chunks) == msg


def test_small_chunks_reassemble_from_stream_messages():
    msg = to_run_request(demo_computation())
    messages = list(run_request_chunks(msg, chunk_size=7))
    assert len(messages) == -(-msg.ByteSize() // 7) + 1
    noise = cvms_pb2.ServerStreamMessage(agentStateReq=cvms_pb2.AgentStateReq(id="1"))
    assert assemble_run_request([noise, *messages]) == msg


def test_interleaved_ids_are_kept_apart():
    first = to_run_request(demo_computation())
    second = to_run_request(demo_computation())
    second.id = "2"
    a = [m.runReqChunks for m in run_request_chunks(first, chunk_size=50)]
    b = [m.runReqChunks for m in run_request_chunks(second, chunk_size=50)]
    assembler = RunRequestAssembler()
    results = []
    for pair in zip(a, b):
        for chunk in pair:
            done = assembler.add(chunk)
            if done is not None:
                results.append(done)
    assert results == [first, second]
    assert assembler.pending_ids() == ()


def test_buffer_idle_for_thirty_seconds_is_dropped():
    now = [0.0]
    assembler = RunRequestAssembler(clock=lambda: now[0])
    chunks = [m.runReqChunks for m in run_request_chunks(to_run_request(demo_computation()), chunk_size=100)]
    assembler.add(chunks[0])
    now[0] = 30.5
    assembler.add(cvms_pb2.RunReqChunks(id="other", data=b""))
    assert assembler.pending_ids() == ("other",)
    with pytest.raises(ManifestError, match="received manifest may be corrupted"):
        for chunk in chunks[1:]:  # the tail alone does not parse
            assembler.add(chunk)


def test_corrupted_manifest_is_reported():
    assembler = RunRequestAssembler()
    assembler.add(cvms_pb2.RunReqChunks(id="1", data=b"\x0a\xff\xff\xff"))
    with pytest.raises(ManifestError) as raised:
        assembler.add(cvms_pb2.RunReqChunks(id="1", is_last=True))
    assert raised.value.code == "bad-manifest"
    assert "received manifest may be corrupted" in str(raised.value)
    assert assembler.pending_ids() == ()


def test_oversized_manifest_is_dropped():
    assembler = RunRequestAssembler(max_bytes=10)
    assembler.add(cvms_pb2.RunReqChunks(id="1", data=b"12345"))
    with pytest.raises(ManifestError, match="exceeds 10 bytes"):
        assembler.add(cvms_pb2.RunReqChunks(id="1", data=b"123456"))
    assert assembler.pending_ids() == ()


def test_stream_without_last_chunk_is_an_error():
    chunks = [m.runReqChunks for m in run_request_chunks(to_run_request(demo_computation()))][:-1]
    with pytest.raises(ManifestError, match="ended before its last chunk"):
        assemble_run_request(chunks)


def test_bad_arguments():
    with pytest.raises(ValueError, match="chunk_size must be positive"):
        list(run_request_chunks(cvms_pb2.ComputationRunReq(), chunk_size=0))
    with pytest.raises(TypeError, match="expected cvms.ComputationRunReq"):
        list(run_request_chunks(cvms_pb2.RunReqChunks()))  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=4))
def test_fuzz_received_chunks_raise_only_manifest_errors(pieces):
    chunks = [cvms_pb2.RunReqChunks(id="f", data=p) for p in pieces] + [cvms_pb2.RunReqChunks(id="f", is_last=True)]
    try:
        from_run_request(assemble_run_request(chunks))
    except ManifestError:
        pass
