"""Runner, staging and state-machine rules of the sandbox agent."""

from __future__ import annotations

import asyncio
import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import BadInput
from core.sandbox.agent_errors import ERR_DECOMPRESS, ERR_FILENAME_MISMATCH, AgentRpcError
from core.sandbox.agent_service import SandboxAgentService
from core.sandbox.runner import RunError, RunSpec, run_algorithm, zip_results
from core.sandbox.staging import stage_algorithm, stage_dataset
from core.sandbox.state import AgentEvent, AgentEventName, AgentState, InvalidTransition, StateMachine
from sandbox_support import Party, computation, shared_tee


def _run(tmp_path, algorithm: bytes, spec: RunSpec, logs=None) -> bytes:  # noqa: ANN001
    stage_algorithm(tmp_path, algorithm, b"")
    return asyncio.run(run_algorithm(tmp_path, spec, logs.append if logs is not None else None))


def test_bin_algorithm_gets_args_and_results_are_zipped(tmp_path):
    script = b'#!/bin/sh\nprintf "%s|%s" "$1" "$2" > results/args.txt\nmkdir -p results/sub\necho hi > results/sub/x\n'
    body = _run(tmp_path, script, RunSpec("bin", ("one", "two words")))
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.namelist() == ["args.txt", "sub/x"]
        assert archive.read("args.txt") == b"one|two words"
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert zip_results(tmp_path / "results") == body       # deterministic


def test_timeout_and_unsupported_type(tmp_path):
    with pytest.raises(RunError, match="timed out after 0.5 s"):
        _run(tmp_path, b"import time\ntime.sleep(30)\n", RunSpec("python", (), 0.5))
    with pytest.raises(RunError, match="algo_type 'wasm' is not supported"):
        _run(tmp_path, b"\0asm", RunSpec("wasm"))


def test_requirements_are_not_installed_and_that_is_logged(tmp_path):
    logs: list = []
    (tmp_path / "requirements.txt").write_bytes(b"numpy\n")
    stage_algorithm(tmp_path, b"print('ok')\n", b"numpy\n")
    asyncio.run(run_algorithm(tmp_path, RunSpec("python"), logs.append))
    assert any(log.level == "warn" and "does not install" in log.message for log in logs)
    assert any(log.message == "ok" for log in logs)


def test_state_machine_transitions_and_events():
    events: list[AgentEvent] = []
    machine = StateMachine(events.append)
    with pytest.raises(InvalidTransition, match="in state Idle"):
        machine.fire(AgentEventName.DATA_RECEIVED)
    machine.fire(AgentEventName.START)
    machine.fire(AgentEventName.MANIFEST_RECEIVED)
    assert machine.fire(AgentEventName.ALGORITHM_RECEIVED, has_datasets=False) is AgentState.Running
    assert machine.fire(AgentEventName.RUN_FAILED) is AgentState.Failed
    machine.fire(AgentEventName.STOP)
    assert machine.state is AgentState.ReceivingManifest
    assert [(e.event_type, e.status) for e in events] == [
        ("ReceivingAlgorithm", "InProgress"), ("Running", "Failed"), ("Failed", "Failed"), ("Stopped", "Stopped")]
    assert [s.name for s in AgentState] == ["Idle", "ReceivingManifest", "ReceivingAlgorithm", "ReceivingData",
                                           "Running", "ConsumingResults", "Complete", "Failed"]


def test_stop_computation_wipes_and_waits_for_manifest(tmp_path):
    events: list[AgentEvent] = []
    service = SandboxAgentService(computation(Party()), shared_tee(), work_dir=tmp_path, on_event=events.append)
    stage_algorithm(tmp_path, b"x", b"")
    service.stop_computation()
    assert service.state is AgentState.ReceivingManifest
    assert not (tmp_path / "algo").exists()
    assert events[-1] == AgentEvent("Stopped", "Stopped")


def test_service_refuses_unknown_misbehaviour(tmp_path):
    with pytest.raises(BadInput, match="unknown misbehaviour"):
        SandboxAgentService(computation(Party()), shared_tee(), work_dir=tmp_path, misbehave="lazy")


@pytest.mark.parametrize("name", ["../escape.csv", "/etc/passwd", "a/../../b", ""])
def test_dataset_names_cannot_leave_the_datasets_directory(tmp_path, name):
    with pytest.raises(AgentRpcError) as info:
        stage_dataset(tmp_path, name, b"data", decompress=False)
    assert info.value.message == ERR_FILENAME_MISMATCH
    assert not (tmp_path.parent / "escape.csv").exists()


def test_zip_slip_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.txt", b"x")
    with pytest.raises(AgentRpcError) as info:
        stage_dataset(tmp_path, "d", buffer.getvalue(), decompress=True)
    assert info.value.message.startswith(ERR_DECOMPRESS + ": ")
    assert not (tmp_path / "evil.txt").exists()


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300))
def test_fuzz_decompress_only_raises_agent_errors(tmp_path_factory, data):
    work = tmp_path_factory.mktemp("fuzz")
    try:
        stage_dataset(work, "d", b"PK\x03\x04" + data, decompress=True)
    except AgentRpcError as exc:
        assert exc.message.startswith(ERR_DECOMPRESS + ": ")
