"""Each refusal of the agent reaches the caller as its typed error with the agent's own text."""

from __future__ import annotations

import asyncio
import hashlib

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from cocos_wire_agent import (
    ERR_HASH,
    ERR_STATE,
    ERR_UNDECLARED,
    TestAgent,
    serve_agent,
    signer,
)
from core.cocos import errors
from core.cocos.agent_client import AgentClient
from core.cocos.channels import PlainTransport
from core.errors import PrismError, Refused
from core.keys.signatures import role_signature_b64

ALGO = b"print('hello')\n"
DATA = b"a,b\n1,2\n"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


@pytest.fixture
def files(tmp_path):
    (tmp_path / "algo.py").write_bytes(ALGO)
    (tmp_path / "data.csv").write_bytes(DATA)
    (tmp_path / "other.csv").write_bytes(b"other")
    return tmp_path


def agent_for_demo() -> TestAgent:
    return TestAgent(algo_hash=hashlib.sha3_256(ALGO).digest(), datasets={"data.csv": hashlib.sha3_256(DATA).digest()})


def test_agent_refusals_map_to_typed_errors(files):
    agent = agent_for_demo()
    stranger = Ed25519PrivateKey.generate()

    async def main():
        async with serve_agent(agent) as target, AgentClient(target=target, transport=PlainTransport(),
                                                              signer=signer) as client:
            with pytest.raises(errors.UnexpectedOperation) as early:  # data before the algorithm (§14 #4)
                await client.upload_dataset(files / "data.csv", filename="data.csv")
            with pytest.raises(errors.HashMismatch) as mismatch:
                await client.upload_algorithm(files / "data.csv", algo_type="python")
            await client.upload_algorithm(files / "algo.py", algo_type="python")
            with pytest.raises(errors.UnexpectedOperation) as again:
                await client.upload_algorithm(files / "algo.py", algo_type="python")
            with pytest.raises(errors.UndeclaredDataset) as undeclared:
                await client.upload_dataset(files / "other.csv", filename="other.csv")
            async with AgentClient(target=target, transport=PlainTransport(),
                                   signer=lambda role: role_signature_b64(stranger, role)) as intruder:
                with pytest.raises(errors.Unauthenticated) as unauth:
                    await intruder.upload_dataset(files / "data.csv", filename="data.csv")
            return early.value, mismatch.value, again.value, undeclared.value, unauth.value

    early, mismatch, again, undeclared, unauth = run(main())
    for error, message, code in ((early, ERR_STATE, "agent-wrong-state"), (mismatch, ERR_HASH, "agent-hash-mismatch"),
                                 (again, ERR_STATE, "agent-wrong-state"),
                                 (undeclared, ERR_UNDECLARED, "agent-undeclared-dataset")):
        assert error.grpc_code == grpc.StatusCode.UNKNOWN
        assert error.agent_message == message and error.code == code
        assert message in str(error) and isinstance(error, Refused)
    assert unauth.grpc_code == grpc.StatusCode.UNAUTHENTICATED
    assert unauth.agent_message == "signature verification failed" and unauth.code == "agent-unauthenticated"


def test_dataset_uploaded_twice_is_undeclared_the_second_time(files):
    agent = agent_for_demo()
    agent.pending["second.csv"] = hashlib.sha3_256(b"other").digest()

    async def main():
        async with serve_agent(agent) as target, AgentClient(target=target, transport=PlainTransport(),
                                                              signer=signer) as client:
            await client.upload_algorithm(files / "algo.py", algo_type="python")
            await client.upload_dataset(files / "data.csv", filename="data.csv")
            with pytest.raises(errors.UndeclaredDataset) as caught:
                await client.upload_dataset(files / "data.csv", filename="data.csv")
            return caught.value

    assert run(main()).agent_message == ERR_UNDECLARED
    assert agent.state == "ReceivingData" and list(agent.pending) == ["second.csv"]


class _Status(grpc.RpcError):
    """A finished call's status, as grpc reports it (code + details)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.mark.parametrize(("code", "text", "kind", "machine"), [
    (grpc.StatusCode.UNAUTHENTICATED, "invalid metadata", errors.Unauthenticated, "agent-unauthenticated"),
    (grpc.StatusCode.UNKNOWN, "all expected manifest Items have been received", errors.UnexpectedOperation,
     "agent-all-received"),
    (grpc.StatusCode.UNKNOWN, "computation results are not yet ready", errors.ResultsNotReady,
     "agent-results-not-ready"),
    (grpc.StatusCode.UNKNOWN, "error decompressing dataset: zip: not a valid zip file", errors.DecompressFailed,
     "agent-decompress-failed"),
    (grpc.StatusCode.UNKNOWN, "failed to get raw quote : open /dev/sev-guest: no such file",
     errors.AttestationUnavailable, "agent-attestation-unavailable"),
    (grpc.StatusCode.UNKNOWN, "invalid attestation type", errors.AttestationUnavailable, "agent-attestation-type"),
    (grpc.StatusCode.UNKNOWN, "malformed data, filename does not match manifest", errors.UndeclaredDataset,
     "agent-filename-mismatch"),
    (grpc.StatusCode.UNKNOWN, "algorithm binary is required", errors.AgentError, "agent-empty-upload"),
    (grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded", errors.AgentTimeout, "agent-timeout"),
    (grpc.StatusCode.INTERNAL, "stream reset", errors.AgentError, "agent-error"),
])
def test_mapping_table(code, text, kind, machine):
    error = errors.map_agent_error(_Status(code, text), operation="upload")
    assert type(error) is kind and error.code == machine
    assert error.agent_message == text and error.grpc_code == code


def test_run_error_on_result_is_computation_failed():
    error = errors.map_agent_error(_Status(grpc.StatusCode.UNKNOWN, "algorithm execution error: exit status 1"),
                                   operation="download result")
    assert isinstance(error, errors.ComputationFailed)
    assert "exit status 1" in str(error)


@settings(max_examples=200, deadline=None)
@given(code=st.sampled_from(list(grpc.StatusCode)), text=st.text(max_size=200))
def test_mapping_any_status_gives_a_typed_error(code, text):
    error = errors.map_agent_error(_Status(code, text), operation="x")
    assert isinstance(error, errors.AgentError) and error.agent_message == text
    manager = errors.map_manager_error(_Status(code, text), operation="x", target="m")
    assert isinstance(manager, errors.ManagerError) and isinstance(manager, PrismError)
