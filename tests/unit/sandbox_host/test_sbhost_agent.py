"""The agent's CVMS side in-process: mTLS dial, chunked manifest, state, stop, reconnect, settings."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sbhost_support import Party, computation, tee_dir

from core.cocos.agent_client import AgentClient
from core.cocos.channels import PlainTransport, server_credentials
from core.cocos.cvms_server import CvmsServer
from core.errors import BadInput
from core.sandbox.agent_process import AgentSettings, SandboxAgent, read_env_file
from core.sandbox.tee import SandboxTee
from tests.unit.cocos_wire.cocos_wire_pki import make_pki


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(asyncio.wait_for(coro, 40))


def test_mtls_chunked_manifest_state_stop_and_reconnect(tmp_path) -> None:
    pki = make_pki(tmp_path / "pki")
    for name, data in (("cert.pem", pki.client_cert), ("key.pem", pki.client_key), ("ca.pem", pki.ca_pem)):
        (tmp_path / name).write_bytes(data)
    party = Party()

    async def scenario():  # noqa: ANN202
        credentials = server_credentials(pki.server_cert, pki.server_key, pki.ca_pem)
        cvms = CvmsServer(credentials=credentials, manifest_mode="chunked", chunk_size=64)
        port = await cvms.start()
        cvms.register("c1", computation(party), job_id="vm-1")
        agent_settings = AgentSettings(cvm_id="vm-1", cvms_url=f"localhost:{port}",
                                       client_cert=str(tmp_path / "cert.pem"), client_key=str(tmp_path / "key.pem"),
                                       server_ca=str(tmp_path / "ca.pem"), port=0, work_dir=str(tmp_path / "w"),
                                       reconnect_seconds=0.2)
        agent = SandboxAgent(agent_settings, SandboxTee(tee_dir()))
        running = asyncio.ensure_future(agent.run())
        try:
            record = await cvms.wait_for("c1", lambda r: bool(r.run_responses), timeout=15)
            ingress_port = agent.runtime.ingress.port
            async with AgentClient(target=f"127.0.0.1:{ingress_port}", transport=PlainTransport()) as client:
                healthy = await client.health()
            await cvms.request_state("c1")
            await cvms.wait_for("c1", lambda r: bool(r.states))
            await cvms.stop_computation("c1")
            await cvms.wait_for("c1", lambda r: bool(r.stop_responses))
            # The CVMS goes away and comes back on the same port: the agent redials by itself.
            await cvms.stop(None)
            cvms = CvmsServer(port=port, credentials=credentials, manifest_mode="chunked", chunk_size=64)
            await cvms.start()
            cvms.register("c1", computation(party), job_id="vm-1")
            await cvms.wait_for("c1", lambda r: r.connected, timeout=15)
            await cvms.request_state("c1")
            again = await cvms.wait_for("c1", lambda r: bool(r.states))
        finally:
            agent.stop()
            await asyncio.wait_for(running, 10)
            await cvms.stop(None)
        return record, healthy, again

    record, healthy, again = run(scenario())
    assert record.run_responses[0].computation_id == "c1" and record.run_responses[0].error == ""
    assert healthy is True
    assert record.states == ["ReceivingAlgorithm"]
    assert record.stop_responses[0].message == ""
    assert ("Stopped", "Stopped") in [(e.event_type, e.status) for e in record.events]
    assert all(e.originator == "agent" and e.computation_id == "c1" for e in record.events)
    # After the stop the agent waits for a manifest; the replayed one starts the computation again.
    assert again.states[-1] == "ReceivingAlgorithm"
    assert len(again.run_responses) == 1


def test_settings_from_env_and_env_file(tmp_path) -> None:
    env_file = tmp_path / "environment"
    env_file.write_text("# written by the manager\nAGENT_CVM_ID=abc\nAGENT_CVM_GRPC_URL=127.0.0.1:7018\n\n")
    values = read_env_file(env_file)
    parsed = AgentSettings.from_env(values, port=6100, misbehave="broken-binding")
    assert (parsed.cvm_id, parsed.cvms_url, parsed.port, parsed.misbehave) == ("abc", "127.0.0.1:7018", 6100,
                                                                              "broken-binding")
    with pytest.raises(BadInput, match="AGENT_CVM_ID is not set"):
        AgentSettings.from_env({})
    with pytest.raises(BadInput, match="unknown misbehaviour"):
        AgentSettings.from_env({"AGENT_CVM_ID": "x"}, misbehave="explode")
    env_file.write_text("AGENT_CVM_ID\n")
    with pytest.raises(BadInput, match="line 1 is not KEY=VALUE"):
        read_env_file(env_file)
    with pytest.raises(BadInput, match="cannot read the agent environment file"):
        read_env_file(tmp_path / "missing")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_env_file_fuzz_only_typed_errors(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("env") / "environment"
    path.write_bytes(data)
    try:
        values = read_env_file(path)
    except BadInput as exc:
        assert "KEY=VALUE" in str(exc) or "cannot read" in str(exc)
    else:
        assert all(key and "=" not in key for key in values)
