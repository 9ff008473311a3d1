"""What the agent refuses, and what the client refuses before any of its data leaves."""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from core.atls.gate import AttestationRefused
from core.attestation.verdict import Status
from core.cocos.agent_client import AgentClient
from core.cocos.errors import HashMismatch, Unauthenticated, UnexpectedOperation
from core.cocos.lifecycle import (
    ComputationRun,
    HashNotEnforced,
    StepStatus,
    upload_logs,
)
from tests.e2e.e2e_support import CSV, provisioned, run, sandbox_policy, trust_for

pytestmark = pytest.mark.timeout(60)


def _wrong_role(party):
    # the algorithm provider's own key, but signing the data-provider role
    return lambda role: party.keystore.sign_role("algo-key", "data-provider")


def _stranger(party):
    return lambda role: party.keystore.sign_role("stranger", role)


def test_agent_refusals_over_atls(sandboxes, party) -> None:
    status = sandboxes().status()
    comp = party.computation("e2e-refusals")
    algo, data = party.inputs_dir / "sum.py", party.inputs_dir / "data.csv"
    bad = party.inputs_dir / "tampered.py"
    bad.write_bytes(b"print('not the manifest algorithm')\n")
    errors = {}

    async def scenario() -> None:
        async with provisioned(status, party, comp) as vm:
            for name, signer in (("wrong-role", _wrong_role(party)), ("wrong-key", _stranger(party))):
                async with AgentClient(target=vm.target, transport=vm.atls, signer=signer) as agent:
                    with pytest.raises(Unauthenticated) as caught:
                        await agent.upload_algorithm(algo, algo_type="python")
                    errors[name] = caught.value
            async with AgentClient(target=vm.target, transport=vm.atls, signer=party.signer) as agent:
                with pytest.raises(UnexpectedOperation) as caught:
                    await agent.upload_dataset(data, filename="data.csv")
                errors["data-first"] = caught.value
                with pytest.raises(HashMismatch) as caught:
                    await agent.upload_algorithm(bad, algo_type="python")
                errors["hash"] = caught.value
                # nothing of the above was consumed: the real algorithm is still welcome
                await agent.upload_algorithm(algo, algo_type="python", algo_args=["datasets/data.csv"])
                await agent.upload_dataset(data, filename="data.csv")
                errors["result"] = (await agent.download_result(party.inputs_dir / "r.zip", poll_interval=0.2,
                                                                max_wait=20)).stat().st_size

    run(scenario())
    assert "signature verification failed" in errors["wrong-role"].agent_message
    assert "signature verification failed" in errors["wrong-key"].agent_message
    assert errors["wrong-role"].code == errors["wrong-key"].code == "agent-unauthenticated"
    assert errors["data-first"].agent_message.startswith("agent not expecting this operation")
    assert errors["hash"].agent_message.startswith("malformed data, hash does not match manifest")
    assert errors["result"] > 0


EXPECTED_FAILURE = {"wrong-measurement": "policy.measurement", "broken-binding": "atls.report_data.binding",
                    "debug-policy": "policy.debug"}


@pytest.mark.parametrize("mode", sorted(EXPECTED_FAILURE))
def test_misbehaving_tee_is_refused_before_any_data_byte(sandboxes, party, mode) -> None:
    status = sandboxes(mode).status()
    comp = party.computation(f"e2e-{mode}")
    computation_run = ComputationRun(
        manager_target=status.manager_target, workspace=party.workspace, cvms_tls=party.tls, computation=comp,
        inputs=party.inputs(), signer=party.signer, policy=sandbox_policy(), trust=trust_for(status))
    with pytest.raises(AttestationRefused) as caught:
        run(computation_run.run())

    verdict = caught.value.verdict
    assert not verdict.acceptable and verdict.get(EXPECTED_FAILURE[mode]).status is Status.FAIL
    assert EXPECTED_FAILURE[mode] in str(caught.value)
    steps = [(s.name, s.status) for s in computation_run.steps if s.status is not StepStatus.STARTED]
    assert ("attestation", StepStatus.FAILED) in steps
    assert not [name for name, _ in steps if name.startswith("upload")]
    assert ("remove-vm", StepStatus.OK) in steps and ("cvms-stop", StepStatus.OK) in steps
    # Across the process boundary: the sandbox agent reports its received-bytes counter with its
    # state (asked over our CVMS when the run failed). Not one algorithm or dataset byte arrived.
    counters = [m.message for m in computation_run.record.logs if m.message.startswith("received_bytes ")]
    assert counters == ["received_bytes 0"]
    assert computation_run.agent_state == "ReceivingAlgorithm"
    assert upload_logs(computation_run.record) == []
    assert [e.event_type for e in computation_run.record.events] == ["ReceivingAlgorithm"]


def test_hash_substitution_is_noticed_by_the_probe(sandboxes, party) -> None:
    status = sandboxes("hash-substitution").status()
    computation_run = ComputationRun(
        manager_target=status.manager_target, workspace=party.workspace, cvms_tls=party.tls,
        computation=party.computation("e2e-hash-sub"), inputs=party.inputs(), signer=party.signer,
        policy=sandbox_policy(), trust=trust_for(status), probe_hash_enforcement=True)
    with pytest.raises(HashNotEnforced) as caught:
        run(computation_run.run())
    assert caught.value.code == "agent-hash-not-enforced"
    # the attestation itself is flawless: nothing in the evidence reveals the substitution
    assert computation_run.verdict is not None and computation_run.verdict.acceptable
    uploads = [s for s in computation_run.steps if s.name.startswith("upload")]
    assert uploads == []  # the real algorithm and dataset never left
    assert computation_run.agent_state == "ReceivingData"  # it took the decoy as the algorithm
    # Across the process boundary: the agent received the decoy's bytes and not one of ours.
    decoy = computation_run.probe_bytes
    assert decoy > 0
    counters = [m.message for m in computation_run.record.logs if m.message.startswith("received_bytes ")]
    assert counters == [f"received_bytes {decoy}"]
    assert upload_logs(computation_run.record) == [f"algorithm received ({decoy} bytes, type python)"]
    assert ("remove-vm", StepStatus.OK) in [(s.name, s.status) for s in computation_run.steps]


def test_hash_substitution_accepts_a_wrong_dataset_undetectably(sandboxes, party) -> None:
    """Without the probe, a consumer cannot tell: the verdict passes and a result comes back."""
    status = sandboxes("hash-substitution").status()
    comp = party.computation("e2e-hash-sub-raw")
    wrong = party.inputs_dir / "wrong.csv"
    wrong.write_bytes(b"name,value\na,1000\n")
    assert hashlib.sha3_256(wrong.read_bytes()).digest() != hashlib.sha3_256(CSV).digest()
    out = {}

    async def scenario() -> None:
        async with provisioned(status, party, comp) as vm:
            out["verdict"] = vm.atls.verdict
            async with AgentClient(target=vm.target, transport=vm.atls, signer=party.signer) as agent:
                await agent.upload_algorithm(party.inputs_dir / "sum.py", algo_type="python",
                                             algo_args=["datasets/data.csv"])
                await agent.upload_dataset(wrong, filename="data.csv")  # accepted: no HashMismatch
                zipped = await agent.download_result(party.inputs_dir / "r.zip", poll_interval=0.2, max_wait=20)
            with zipfile.ZipFile(zipped) as archive:
                out["sum"] = archive.read("sum.txt")
            await vm.cvms.wait_for(comp.id, lambda r: len(upload_logs(r)) == 2, timeout=5)
            out["warnings"] = [e.message for e in vm.record.logs if "differs from the manifest" in e.message]

    run(scenario())
    assert out["verdict"].acceptable
    assert out["sum"] == b"1000\n"  # computed over the substituted data, not the declared one (40)
    assert len(out["warnings"]) == 1  # only the agent's own log (seen by the CVMS owner) tells
