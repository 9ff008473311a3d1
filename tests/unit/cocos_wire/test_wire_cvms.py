"""CvmsServer with a test agent dialling in over loopback: manifest, events, logs, control, reconnect."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cocos_wire_agent import SPKI
from cocos_wire_pki import make_pki
from core.cocos.computation import Algorithm, Computation, Dataset, ResultConsumer
from core.cocos.channels import server_credentials
from core.cocos.cvms_server import CvmsServer
from core.cocos.manifest import RunRequestAssembler, to_run_request
from core.errors import BadInput, NotFound, Refused
from core.workspace.workspace import Workspace
from proto.cvms import cvms_pb2, cvms_pb2_grpc

MiB = 1024 * 1024
CID = "comp-1"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def computation(description: str = "demo computation") -> Computation:
    """The manifest of COCOS-PROTOCOL.md §6.3 vector 2, under our computation id."""
    return Computation(
        id=CID, name="demo", description=description,
        datasets=(Dataset(hash=hashlib.sha3_256(b"a,b\n1,2\n").digest(), user_key=SPKI, filename="data.csv"),),
        algorithm=Algorithm(hash=hashlib.sha3_256(b"print('hello')\n").digest(), user_key=SPKI,
                            algo_type="python", algo_args=("datasets/data.csv",)),
        result_consumers=(ResultConsumer(user_key=SPKI),),
    )


class DialingAgent:
    """The agent side of §8: dials the CVMS, reassembles the manifest, streams messages back."""

    def __init__(self, target: str, job: str = CID, *, log_forwarder: bool = False,
                 credentials: grpc.ChannelCredentials | None = None) -> None:
        self.target, self.job, self.credentials = target, job, credentials
        self.metadata = [("job-id", job)] + ([("connection-type", "log-forwarder")] if log_forwarder else [])
        self.received: list[cvms_pb2.ServerStreamMessage] = []

    async def __aenter__(self) -> DialingAgent:
        if self.credentials is None:
            self.channel = grpc.aio.insecure_channel(self.target)
        else:
            self.channel = grpc.aio.secure_channel(self.target, self.credentials)
        self.call = cvms_pb2_grpc.ServiceStub(self.channel).Process(metadata=self.metadata)
        return self

    async def __aexit__(self, *exc_info) -> None:
        self.call.cancel()
        await self.channel.close()

    async def read(self) -> cvms_pb2.ServerStreamMessage:
        message = await self.call.read()
        if message is not grpc.aio.EOF:
            self.received.append(message)
        return message

    async def manifest(self) -> cvms_pb2.ComputationRunReq:
        assembler = RunRequestAssembler()
        while True:
            message = await self.read()
            if message.WhichOneof("message") == "runReq":
                return message.runReq
            result = assembler.add(message.runReqChunks)
            if result is not None:
                return result

    async def send(self, **fields) -> None:
        await self.call.write(cvms_pb2.ClientStreamMessage(**fields))


def event(kind: str, status: str, seconds: int = 1_800_000_000) -> cvms_pb2.AgentEvent:
    return cvms_pb2.AgentEvent(event_type=kind, status=status, originator="agent", computation_id=CID,
                               timestamp=Timestamp(seconds=seconds))


def log(text: str, level: str = "INFO") -> cvms_pb2.AgentLog:
    return cvms_pb2.AgentLog(message=text, level=level, computation_id=CID, timestamp=Timestamp(seconds=1_800_000_000))


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "ws").mkdir()
    with Workspace("ws", tmp_path / "ws", actor="tester") as opened:
        yield opened


def test_whole_manifest_then_events_and_logs_land_in_the_workspace(workspace):
    hooked: list[tuple[str, str]] = []

    async def main():
        async with CvmsServer(workspace=workspace, on_message=lambda c, m: hooked.append((c, m.WhichOneof("message")))
                              ) as server:
            server.register(CID, computation())
            async with DialingAgent(f"127.0.0.1:{server.port}") as agent:
                manifest = await agent.manifest()
                assert agent.received[0].WhichOneof("message") == "runReq"
                await agent.send(run_res=cvms_pb2.RunResponse(computation_id=CID))
                await agent.send(agent_event=event("ReceivingAlgorithm", "InProgress"))
                await agent.send(agent_log=log("manifest received"))
                await agent.send(agent_log=log("waiting for the algorithm", "DEBUG"))
                await agent.send(vTPMattestationReport=cvms_pb2.AttestationResponse(file=b"eat", certSerialNumber="42"))
                await agent.send(azureAttestationToken=cvms_pb2.azureAttestationToken(file=b"jwt.token",
                                                                                      certSerialNumber="42"))
                record = await server.wait_for(CID, lambda r: len(r.logs) == 2 and r.events and r.azure_tokens)
                return manifest, record

    manifest, record = run(main())
    assert manifest == to_run_request(computation())
    assert [e.event_type for e in record.events] == ["ReceivingAlgorithm"]
    assert [r.error for r in record.run_responses] == [""]
    assert hooked == [(CID, "run_res"), (CID, "agent_event"), (CID, "agent_log"), (CID, "agent_log"),
                      (CID, "vTPMattestationReport"), (CID, "azureAttestationToken")]
    assert record.attestations[0].file == b"eat" and record.azure_tokens[0].file == b"jwt.token"
    # the evidence bytes themselves are kept, one file per message, and audited by name
    folder = workspace.results_dir / CID
    assert (folder / "cvms-attestation-1.eat").read_bytes() == b"eat"
    assert (folder / "cvms-attestation-2.eat").read_bytes() == b"jwt.token"
    attested = workspace.audit.events(action_prefix="cvms.attestation")
    assert [a.details for a in attested] == [
        {"kind": "vtpm-report", "cert_serial": "42", "size": 3, "file": "cvms-attestation-1.eat"},
        {"kind": "azure-token", "cert_serial": "42", "size": 9, "file": "cvms-attestation-2.eat"}]
    assert {a.subject for a in attested} == {CID}
    (audited,) = workspace.audit.events(action_prefix="cvms.event")
    assert audited.subject == CID
    assert audited.details["event_type"] == "ReceivingAlgorithm" and audited.details["status"] == "InProgress"
    assert audited.details["originator"] == "agent" and audited.details["time"].startswith("2027-01-15T08:00:00")
    assert workspace.audit.count(action_prefix="cvms.run") == 1
    lines = (workspace.results_dir / CID / "agent.log").read_text().splitlines()
    assert lines == ["2027-01-15T08:00:00.000+00:00 INFO manifest received",
                     "2027-01-15T08:00:00.000+00:00 DEBUG waiting for the algorithm"]


def test_large_manifest_arrives_in_one_mib_chunks_with_an_empty_last():
    big = computation(description="d" * (2 * MiB + 5000))

    async def main():
        async with CvmsServer() as server:  # auto: too big for one chunk
            server.register(CID, big)
            async with DialingAgent(f"127.0.0.1:{server.port}") as agent:
                return await agent.manifest(), agent.received

    manifest, received = run(main())
    chunks = [m.runReqChunks for m in received]
    serialized = to_run_request(big).SerializeToString(deterministic=True)
    assert [len(c.data) for c in chunks] == [MiB, MiB, len(serialized) - 2 * MiB, 0]
    assert [c.is_last for c in chunks] == [False, False, False, True]
    assert {c.id for c in chunks} == {CID}
    assert manifest == to_run_request(big)


def test_chunked_mode_is_forced_by_flag_for_a_small_manifest():
    async def main():
        async with CvmsServer(manifest_mode="chunked") as server:
            server.register(CID, to_run_request(computation()))
            async with DialingAgent(f"127.0.0.1:{server.port}") as agent:
                return await agent.manifest(), agent.received

    manifest, received = run(main())
    assert [m.WhichOneof("message") for m in received] == ["runReqChunks", "runReqChunks"]
    assert received[-1].runReqChunks.is_last and not received[-1].runReqChunks.data
    assert manifest == to_run_request(computation())


def test_stop_state_and_disconnect_reach_the_agent(workspace):
    async def main():
        async with CvmsServer(workspace=workspace) as server:
            server.register(CID, computation(), job_id="cvm-42")
            async with DialingAgent(f"127.0.0.1:{server.port}", job="cvm-42") as agent:
                await agent.manifest()
                await server.wait_for(CID, lambda r: r.connected)
                await server.request_state(CID)
                asked = await agent.read()
                await agent.send(agentStateRes=cvms_pb2.AgentStateRes(id=CID, state="ReceivingAlgorithm"))
                await server.stop_computation(CID)
                stop = await agent.read()
                await agent.send(stopComputationRes=cvms_pb2.StopComputationResponse(computation_id=CID))
                await agent.send(agent_event=event("Stopped", "Stopped"))
                record = await server.wait_for(CID, lambda r: r.stop_responses and r.events)
                await server.disconnect(CID)
                bye = await agent.read()
                end = await agent.read()
                await server.wait_for(CID, lambda r: not r.connected)
                return asked, stop, bye, end, record

    asked, stop, bye, end, record = run(main())
    assert asked.agentStateReq.id == CID
    assert stop.stopComputation.computation_id == CID
    assert bye.disconnectReq.id == CID and end is grpc.aio.EOF
    assert record.states == ["ReceivingAlgorithm"]
    (state,) = workspace.audit.events(action_prefix="cvms.state")
    assert (state.subject, state.details) == (CID, {"state": "ReceivingAlgorithm"})
    assert [e.event_type for e in record.events] == ["Stopped"]
    assert workspace.audit.count(action_prefix="cvms.stopped") == 1


def test_a_later_server_keeps_earlier_attestations(workspace):
    """A new CVMS server on the same workspace numbers on instead of replacing kept evidence."""
    async def one_session(data: bytes):
        async with CvmsServer(workspace=workspace) as server:
            server.register(CID, computation())
            async with DialingAgent(f"127.0.0.1:{server.port}") as agent:
                await agent.manifest()
                await agent.send(vTPMattestationReport=cvms_pb2.AttestationResponse(file=data, certSerialNumber="7"))
                await server.wait_for(CID, lambda r: r.attestations)

    run(one_session(b"first"))
    run(one_session(b"second"))
    folder = workspace.results_dir / CID
    assert sorted(p.name for p in folder.glob("*.eat")) == ["cvms-attestation-1.eat", "cvms-attestation-2.eat"]
    assert (folder / "cvms-attestation-1.eat").read_bytes() == b"first"
    assert (folder / "cvms-attestation-2.eat").read_bytes() == b"second"
    assert [a.details["file"] for a in workspace.audit.events(action_prefix="cvms.attestation")] == [
        "cvms-attestation-1.eat", "cvms-attestation-2.eat"]


def test_evidence_that_cannot_be_written_is_still_recorded_and_audited(workspace):
    folder = workspace.results_dir / CID
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"a file where the folder should be")

    async def main():
        async with CvmsServer(workspace=workspace) as server:
            server.register(CID, computation())
            async with DialingAgent(f"127.0.0.1:{server.port}") as agent:
                await agent.manifest()
                await agent.send(vTPMattestationReport=cvms_pb2.AttestationResponse(file=b"eat", certSerialNumber="1"))
                return await server.wait_for(CID, lambda r: r.attestations)

    record = run(main())
    assert record.attestations[0].file == b"eat"
    (attested,) = workspace.audit.events(action_prefix="cvms.attestation")
    assert attested.details["file"] is None and attested.details["size"] == 3


def test_reconnecting_agent_gets_the_manifest_again_and_control_follows_it():
    async def main():
        async with CvmsServer() as server:
            server.register(CID, computation())
            target = f"127.0.0.1:{server.port}"
            async with DialingAgent(target) as first:
                await first.manifest()
                await first.send(agent_event=event("ReceivingAlgorithm", "InProgress"))
                await server.wait_for(CID, lambda r: r.events)
            await server.wait_for(CID, lambda r: not r.connected)
            with pytest.raises(Refused) as nobody:
                await server.stop_computation(CID)
            async with DialingAgent(target) as second:
                again = await second.manifest()
                await server.wait_for(CID, lambda r: r.connected)
                await server.stop_computation(CID)
                stop = await second.read()
                return again, stop, server.record(CID), nobody.value

    again, stop, record, nobody = run(main())
    assert again == to_run_request(computation())
    assert stop.stopComputation.computation_id == CID
    assert (record.connections, record.manifests_sent, len(record.events)) == (2, 2, 1)
    assert nobody.code == "cvms-agent-not-connected"


def test_log_forwarder_stream_gets_no_manifest_and_its_logs_are_kept(workspace):
    async def main():
        async with CvmsServer(workspace=workspace) as server:
            server.register(CID, computation())
            async with DialingAgent(f"127.0.0.1:{server.port}", log_forwarder=True) as forwarder:
                await forwarder.send(agent_log=log("from the log socket", "WARN"))
                record = await server.wait_for(CID, lambda r: r.logs)
                await forwarder.call.done_writing()
                end = await forwarder.read()
                return record, end

    record, end = run(main())
    assert end is grpc.aio.EOF and record.manifests_sent == 0 and record.connections == 0
    assert "WARN from the log socket" in (workspace.results_dir / CID / "agent.log").read_text()


def test_unknown_or_missing_job_is_refused():
    async def main():
        async with CvmsServer() as server:
            server.register(CID, computation())
            codes = []
            for job in ("stranger", ""):
                async with DialingAgent(f"127.0.0.1:{server.port}", job=job) as agent:
                    with pytest.raises(grpc.aio.AioRpcError) as caught:
                        await agent.read()
                    codes.append(caught.value.code())
            return codes

    assert run(main()) == [grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT]


def test_registration_checks():
    server = CvmsServer()
    with pytest.raises(BadInput, match="must match"):
        server.register("other", computation())
    with pytest.raises(BadInput, match="letters, digits"):
        server.register("../x", to_run_request(replace(computation(), id="../x")))
    with pytest.raises(NotFound):
        server.record("missing")
    with pytest.raises(BadInput, match="manifest mode"):
        CvmsServer(manifest_mode="sometimes")


def test_mutual_tls_cvms_accepts_only_our_clients(tmp_path):
    pki = make_pki(tmp_path)

    async def main():
        credentials = server_credentials(pki.server_cert, pki.server_key, client_ca_pem=pki.ca_pem)
        async with CvmsServer(credentials=credentials) as server:
            server.register(CID, computation())
            target = f"localhost:{server.port}"
            ours = grpc.ssl_channel_credentials(pki.ca_pem, pki.client_key, pki.client_cert)
            async with DialingAgent(target, credentials=ours) as agent:
                manifest = await agent.manifest()
            async with DialingAgent(target, credentials=grpc.ssl_channel_credentials(pki.ca_pem)) as anonymous:
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await anonymous.read()
            return manifest, caught.value.code(), server.record(CID).connections

    manifest, code, connections = run(main())
    assert manifest == to_run_request(computation())
    assert code == grpc.StatusCode.UNAVAILABLE and connections == 1
