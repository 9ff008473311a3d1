"""The sandbox agent over real grpc.aio on 127.0.0.1, driven by the plain generated stubs."""

from __future__ import annotations

import asyncio
import io
import zipfile

import grpc
import pytest

from core.sandbox import agent_errors as err
from core.sandbox.state import AgentEvent, AgentState
from proto.agent import agent_pb2
from sandbox_support import (
    CSV, SUM_ALGORITHM, Party, computation, fetch_result, md, send_algo, send_data, serve,
)


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


async def _expect(coro, code: grpc.StatusCode, text: str) -> str:  # noqa: ANN001
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await coro
    assert info.value.code() is code, info.value.details()
    assert text in info.value.details()
    return info.value.details()


def test_happy_path_python_sum_over_csv(tmp_path):
    party = Party()

    async def scenario():
        async with serve(computation(party), tmp_path) as h:
            assert h.service.state is AgentState.ReceivingAlgorithm
            await send_algo(h, party.algo)
            assert h.service.state is AgentState.ReceivingData
            await send_data(h, party.data, "data.csv", CSV)
            await h.service.wait_for_run()
            assert h.service.state is AgentState.ConsumingResults, h.service.run_error
            size, body = await fetch_result(h, party.consumer)
            assert h.service.state is AgentState.Complete
            again = await fetch_result(h, party.consumer)   # any number of downloads (§5.3)
            return h, size, body, again

    h, size, body, again = run(scenario())
    assert size == str(len(body)) and again[1] == body
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.namelist() == ["sum.txt"]
        assert archive.read("sum.txt") == b"40"
    assert h.service.received_bytes == len(SUM_ALGORITHM) + len(CSV)
    assert [(e.event_type, e.status) for e in h.events] == [
        ("ReceivingAlgorithm", "InProgress"), ("ReceivingData", "InProgress"), ("Running", "Starting"),
        ("Running", "InProgress"), ("Running", "Completed"), ("ConsumingResults", "Ready"),
        ("Complete", "Completed")]
    assert all(isinstance(e, AgentEvent) and e.originator == "agent" for e in h.events)
    assert any(log.message == "sum is 40" for log in h.logs)
    assert not (tmp_path / "cocos" / "datasets").exists()   # inputs wiped after the run


def test_signatures_wrong_role_wrong_key_and_bad_metadata(tmp_path):
    party, stranger = Party(), Party()

    async def scenario():
        async with serve(computation(party), tmp_path) as h:
            # the algorithm key signing another role's string
            await _expect(send_algo(h, party.algo, role="data-provider"),
                          grpc.StatusCode.UNAUTHENTICATED, err.ERR_SIGNATURE)
            # the right role string, signed by a key the manifest does not hold
            await _expect(send_algo(h, stranger.algo), grpc.StatusCode.UNAUTHENTICATED, err.ERR_SIGNATURE)
            for meta in ((), (("signature", "AAAA"), ("signature", "AAAA"))):
                await _expect(h.stub.Algo(iter([agent_pb2.AlgoRequest(algorithm=b"x")]), metadata=meta),
                              grpc.StatusCode.UNAUTHENTICATED, "invalid metadata")
            assert h.service.state is AgentState.ReceivingAlgorithm
            # the data key is ECDSA: its signatures differ each time yet still verify
            await send_algo(h, party.algo)
            await _expect(send_data(h, stranger.data, "data.csv", CSV),
                          grpc.StatusCode.UNAUTHENTICATED, err.ERR_SIGNATURE)
            await send_data(h, party.data, "data.csv", CSV)

    run(scenario())


def test_admission_rules(tmp_path):
    party = Party()

    async def scenario():
        async with serve(computation(party), tmp_path) as h:
            await _expect(fetch_result(h, party.consumer), grpc.StatusCode.UNKNOWN, err.ERR_RESULTS_NOT_READY)
            await _expect(send_data(h, party.data, "data.csv", CSV), grpc.StatusCode.UNKNOWN,
                          err.ERR_STATE_NOT_READY)   # dataset before the algorithm
            await _expect(send_algo(h, party.algo, b"print('other')"), grpc.StatusCode.UNKNOWN,
                          err.ERR_HASH_MISMATCH)
            await send_algo(h, party.algo)
            await _expect(send_algo(h, party.algo), grpc.StatusCode.UNKNOWN, err.ERR_STATE_NOT_READY)
            await _expect(send_data(h, party.data, "other.csv", CSV), grpc.StatusCode.UNKNOWN,
                          err.ERR_UNDECLARED_DATASET)
            await _expect(send_data(h, party.data, "data.csv", CSV + b"x"), grpc.StatusCode.UNKNOWN,
                          err.ERR_HASH_MISMATCH)
            await _expect(send_data(h, party.data, "data.csv", b""), grpc.StatusCode.UNKNOWN,
                          err.ERR_DATASET_REQUIRED)
            await _expect(fetch_result(h, party.consumer), grpc.StatusCode.UNKNOWN, err.ERR_RESULTS_NOT_READY)
            await send_data(h, party.data, "data.csv", CSV)       # nothing was consumed: retry works
            await _expect(send_data(h, party.data, "data.csv", CSV), grpc.StatusCode.UNKNOWN,
                          err.ERR_STATE_NOT_READY)
            await h.service.wait_for_run()
            # results are for declared consumers only: the data provider signing "consumer" is refused
            await _expect(fetch_result(h, party.data), grpc.StatusCode.UNAUTHENTICATED, err.ERR_SIGNATURE)
            await _expect(fetch_result(h, party.algo), grpc.StatusCode.UNAUTHENTICATED, err.ERR_SIGNATURE)
            assert h.service.state is AgentState.ConsumingResults
            return h.service.received_bytes

    received = run(scenario())
    # every byte of an authenticated upload counts, refused ones included (buffered before checks)
    assert received == len(b"print('other')") + 2 * len(SUM_ALGORITHM) + 5 * len(CSV) + 1


def test_reupload_of_accepted_dataset_is_undeclared(tmp_path):
    party = Party()
    comp = computation(party, datasets={"a.csv": CSV, "b.csv": b"name,value\nz,1\n"})

    async def scenario():
        async with serve(comp, tmp_path) as h:
            await send_algo(h, party.algo, args=("datasets/a.csv",))
            await send_data(h, party.data, "a.csv", CSV)
            assert h.service.state is AgentState.ReceivingData
            await _expect(send_data(h, party.data, "a.csv", CSV), grpc.StatusCode.UNKNOWN,
                          err.ERR_UNDECLARED_DATASET)

    run(scenario())


def test_run_failure_is_returned_by_result(tmp_path):
    party = Party()
    failing = b"#!/bin/sh\necho boom >&2\nexit 3\n"

    async def scenario():
        async with serve(computation(party, algorithm=failing, datasets={}), tmp_path) as h:
            await send_algo(h, party.algo, failing, algo_type="bin", args=())
            await h.service.wait_for_run()
            assert h.service.state is AgentState.Failed
            await _expect(fetch_result(h, party.consumer), grpc.StatusCode.UNKNOWN,
                          "algorithm execution error: exit status 3")
            return h

    h = run(scenario())
    assert ("Running", "Failed") in [(e.event_type, e.status) for e in h.events]
    assert h.events[-1] == AgentEvent("Failed", "Failed")
    assert any(log.message == "boom" and log.level == "error" for log in h.logs)


def test_missing_algo_type_fails_the_computation(tmp_path):
    party = Party()

    async def scenario():
        async with serve(computation(party), tmp_path) as h:
            await _expect(h.stub.Algo(iter([agent_pb2.AlgoRequest(algorithm=SUM_ALGORITHM)]),
                                      metadata=md(party.algo, "algorithm-provider")),
                          grpc.StatusCode.INTERNAL, "algo_type")
            assert h.service.state is AgentState.Failed

    run(scenario())


def test_decompressed_dataset_and_hash_substitution(tmp_path):
    party = Party()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner/data.csv", CSV)
    zipped = buffer.getvalue()
    algo = b"import pathlib\npathlib.Path('results/seen.txt').write_text(open('datasets/inner/data.csv').read())\n"
    comp = computation(party, algorithm=algo, datasets={"folder": zipped})

    async def scenario(misbehave):
        async with serve(comp, tmp_path / str(misbehave), misbehave=misbehave) as h:
            await send_algo(h, party.algo, algo, args=())
            payload = zipped
            if misbehave:   # a different zip whose hash is not the declared one
                other = io.BytesIO()
                with zipfile.ZipFile(other, "w") as archive:
                    archive.writestr("inner/data.csv", b"name,value\nevil,1\n")
                payload = other.getvalue()
            await send_data(h, party.data, "folder", payload, decompress=True)
            await h.service.wait_for_run()
            size, body = await fetch_result(h, party.consumer)
            return zipfile.ZipFile(io.BytesIO(body)).read("seen.txt")

    assert run(scenario(None)) == CSV
    assert run(scenario("hash-substitution")) == b"name,value\nevil,1\n"


def test_bad_zip_with_decompress_reports_cause(tmp_path):
    party = Party()
    comp = computation(party, datasets={"folder": b"not a zip"})

    async def scenario():
        async with serve(comp, tmp_path) as h:
            await send_algo(h, party.algo, args=())
            detail = await _expect(send_data(h, party.data, "folder", b"not a zip", decompress=True),
                                   grpc.StatusCode.UNKNOWN, "error decompressing dataset: ")
            # quirk 7: the last dataset was already taken off the pending list
            await _expect(send_data(h, party.data, "folder", b"not a zip", decompress=True),
                          grpc.StatusCode.UNKNOWN, err.ERR_ALL_ITEMS_RECEIVED)
            return detail

    assert "zip" in run(scenario()).lower()
