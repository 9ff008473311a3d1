"""The generated gRPC modules carry real calls over loopback (one call of each streaming kind)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest

from proto.agent import agent_pb2, agent_pb2_grpc
from proto.cvms import cvms_pb2, cvms_pb2_grpc
from proto.manager import manager_pb2, manager_pb2_grpc


class _Agent(agent_pb2_grpc.AgentServiceServicer):
    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.metadata: dict[str, str] = {}

    def Data(self, request_iterator, context):
        self.metadata = dict(context.invocation_metadata())
        for request in request_iterator:
            self.received.append((request.dataset, request.filename))
        return agent_pb2.DataResponse()

    def Result(self, request, context):
        context.send_initial_metadata((("file-size", "6"),))
        yield agent_pb2.ResultResponse(file=b"abc")
        yield agent_pb2.ResultResponse(file=b"def")


class _Manager(manager_pb2_grpc.ManagerServiceServicer):
    def CreateVm(self, request, context):
        return manager_pb2.CreateRes(forwarded_port="6100", cvm_id=f"vm-{request.ttl}")


class _Cvms(cvms_pb2_grpc.ServiceServicer):
    def Process(self, request_iterator, context) -> Iterator[cvms_pb2.ServerStreamMessage]:
        for message in request_iterator:
            if message.WhichOneof("message") == "agentStateRes":
                yield cvms_pb2.ServerStreamMessage(disconnectReq=cvms_pb2.DisconnectReq(id=message.agentStateRes.id))


@pytest.fixture
def loopback():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    agent = _Agent()
    agent_pb2_grpc.add_AgentServiceServicer_to_server(agent, server)
    manager_pb2_grpc.add_ManagerServiceServicer_to_server(_Manager(), server)
    cvms_pb2_grpc.add_ServiceServicer_to_server(_Cvms(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield agent, channel
    finally:
        channel.close()
        server.stop(grace=None)


def test_client_streaming_upload_with_metadata(loopback):
    agent, channel = loopback
    chunks = [agent_pb2.DataRequest(dataset=b"a,b\n", filename="data.csv"),
              agent_pb2.DataRequest(dataset=b"1,2\n", filename="data.csv")]
    response = agent_pb2_grpc.AgentServiceStub(channel).Data(
        iter(chunks), metadata=(("signature", "c2ln"), ("decompress", "true")), timeout=10
    )
    assert isinstance(response, agent_pb2.DataResponse)
    assert agent.received == [(b"a,b\n", "data.csv"), (b"1,2\n", "data.csv")]
    assert agent.metadata["signature"] == "c2ln" and agent.metadata["decompress"] == "true"


def test_server_streaming_download_and_file_size_header(loopback):
    _agent, channel = loopback
    call = agent_pb2_grpc.AgentServiceStub(channel).Result(agent_pb2.ResultRequest(), timeout=10)
    assert dict(call.initial_metadata())["file-size"] == "6"
    assert b"".join(m.file for m in call) == b"abcdef"


def test_unary_manager_call(loopback):
    _agent, channel = loopback
    response = manager_pb2_grpc.ManagerServiceStub(channel).CreateVm(manager_pb2.CreateReq(ttl="10m"), timeout=10)
    assert (response.forwarded_port, response.cvm_id) == ("6100", "vm-10m")


def test_unimplemented_method_reports_its_status(loopback):
    _agent, channel = loopback
    with pytest.raises(grpc.RpcError) as raised:
        agent_pb2_grpc.AgentServiceStub(channel).AzureAttestationToken(agent_pb2.AttestationTokenRequest(), timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_bidirectional_cvms_stream(loopback):
    _agent, channel = loopback
    outgoing = [cvms_pb2.ClientStreamMessage(agentStateRes=cvms_pb2.AgentStateRes(id="c1", state="Running"))]
    replies = list(cvms_pb2_grpc.ServiceStub(channel).Process(iter(outgoing), metadata=(("job-id", "vm-1"),), timeout=10))
    assert [r.WhichOneof("message") for r in replies] == ["disconnectReq"]
    assert replies[0].disconnectReq.id == "c1"
