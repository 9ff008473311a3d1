"""CreateVm -> agent dials our mTLS CVMS -> manifest -> aTLS verified -> uploads -> result -> RemoveVm."""

from __future__ import annotations

import asyncio
import os

import pytest

from core.attestation.verdict import Status
from core.cocos.lifecycle import ComputationRun, StepStatus, upload_logs
from core.sandbox.control import process_alive
from tests.e2e.e2e_support import run, sandbox_policy, trust_for

pytestmark = pytest.mark.timeout(60)


def test_whole_computation_run(sandboxes, party) -> None:
    control = sandboxes()
    status = control.status()
    comp = party.computation("e2e-run")
    seen = []
    agents: list[int] = []

    def on_step(step) -> None:
        seen.append(step)
        if step.name == "manifest" and step.status is StepStatus.OK:
            agents.extend(vm["pid"] for vm in control.status().vms)
    computation_run = ComputationRun(
        manager_target=status.manager_target, workspace=party.workspace, cvms_tls=party.tls, computation=comp,
        inputs=party.inputs(), signer=party.signer, policy=sandbox_policy(), trust=trust_for(status),
        on_step=on_step, probe_hash_enforcement=True)
    outcome = run(computation_run.run())

    verdict = outcome.verdict
    assert verdict.acceptable and verdict.platform == "snp-vtpm"
    for check_id in ("atls.report_data.binding", "snp.signature", "policy.measurement", "vtpm.pcr16.manifest"):
        assert verdict.get(check_id).status is Status.PASS, check_id
    # the result landed, unzipped, in the workspace's results/<id>/
    assert outcome.result_dir == party.workspace.results_dir / "e2e-run"
    assert (outcome.result_dir / "sum.txt").read_bytes() == b"40\n"
    assert [p.name for p in outcome.files] == ["sum.txt"]
    done = [s.name for s in seen if s.status is StepStatus.OK]
    assert done == ["check-inputs", "cvms", "create-vm", "manifest", "attestation", "hash-probe",
                    "upload-algorithm", "upload-dataset data.csv", "result", "unzip", "remove-vm", "cvms-stop"]
    assert not [s for s in seen if s.status is StepStatus.FAILED]
    # what the agent told our CVMS: its connection, the uploads and the states it went through
    record = computation_run.record
    assert record.connections >= 1 and record.run_responses[0].error == ""
    assert len(upload_logs(record)) == 2
    states = [(e.event_type, e.status) for e in record.events]
    assert states[0] == ("ReceivingAlgorithm", "InProgress") and ("Complete", "Completed") in states
    # the CVMS kept the agent's log in the workspace; RemoveVm stopped the agent process
    assert "algorithm received" in (outcome.result_dir / "agent.log").read_text()
    assert len(agents) == 1 and not process_alive(agents[0])
    assert outcome.cvm_id not in [vm["cvm_id"] for vm in control.status().vms]
    assert os.path.exists(outcome.result_zip)


def test_a_cancelled_run_still_removes_its_cvm(sandboxes, party) -> None:
    control = sandboxes()
    status = control.status()
    seen = []

    async def scenario() -> None:
        attested = asyncio.Event()

        def on_step(step) -> None:
            seen.append(step)
            if step.name == "attestation" and step.status is StepStatus.OK:
                attested.set()

        computation_run = ComputationRun(
            manager_target=status.manager_target, workspace=party.workspace, cvms_tls=party.tls,
            computation=party.computation("e2e-cancel"), inputs=party.inputs(), signer=party.signer,
            policy=sandbox_policy(), trust=trust_for(status), on_step=on_step)
        task = asyncio.ensure_future(computation_run.run())
        await asyncio.wait_for(attested.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario())
    assert [s.detail for s in seen if s.status is StepStatus.FAILED] == ["cancelled"]
    outcomes = {(s.name, s.status) for s in seen}
    assert ("remove-vm", StepStatus.OK) in outcomes and ("cvms-stop", StepStatus.OK) in outcomes
    assert control.status().vms == ()
