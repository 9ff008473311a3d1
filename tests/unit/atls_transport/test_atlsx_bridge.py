"""AgentClient, unchanged, over AtlsTransport: the whole upload algorithm + dataset + result flow."""

from __future__ import annotations

import asyncio
import zipfile

import pytest

from atlsx_support import CSV, SUM_ALGORITHM, Party, computation, gate, run, stack
from core.atls.bridge import AtlsTransport, split_target
from core.attestation.verdict import Stage, Status
from core.cocos.agent_client import AgentClient
from core.cocos.errors import AgentUnavailable
from core.errors import BadInput

pytestmark = pytest.mark.timeout(120)


def _files(tmp_path):  # noqa: ANN001, ANN202
    algorithm, dataset = tmp_path / "sum.py", tmp_path / "data.csv"
    algorithm.write_bytes(SUM_ALGORITHM)
    dataset.write_bytes(CSV)
    return algorithm, dataset


async def _full_flow(client: AgentClient, tmp_path, algorithm, dataset):  # noqa: ANN001, ANN202
    await client.upload_algorithm(algorithm, algo_type="python", algo_args=["datasets/data.csv"])
    await client.upload_dataset(dataset, filename="data.csv")
    return await client.download_result(tmp_path / "result.zip", poll_interval=0.2, max_wait=60)


@pytest.mark.parametrize("local", ["unix", "tcp"])
def test_full_flow_through_the_bridge_with_one_verdict(tmp_path, local):
    party = Party()
    comp = computation(party)
    algorithm, dataset = _files(tmp_path)

    async def main():
        async with stack(comp, tmp_path) as s:
            transport = AtlsTransport(gate(), local=local)
            verdict = await transport.connect(s.server.target)
            async with AgentClient(target=s.server.target, transport=transport, signer=party.signer) as client:
                result = await _full_flow(client, tmp_path, algorithm, dataset)
            await transport.close()
            return s, verdict, transport, result

    s, verdict, transport, result = run(main())
    with zipfile.ZipFile(result) as archive:
        assert archive.read("sum.txt") == b"40"
    assert verdict.acceptable and transport.verdict is verdict and verdict.platform == "snp"
    ids = [c.id for c in verdict.checks]
    # the session checks come first, then the hardware verification, then the policy
    assert ids[0] == "atls.tls" and ids.index("atls.report_data.binding") < ids.index("snp.signature")
    assert ids.index("snp.signature") < ids.index("policy.measurement")
    for check_id in ("atls.context", "atls.certificate_verify", "atls.finished", "atls.binder", "atls.eat.nonce",
                     "atls.report_data.binding", "atls.tls_leaf", "snp.signature", "policy.measurement",
                     "policy.debug"):
        assert verdict.get(check_id).status is Status.PASS, check_id
    assert verdict.policy_applied and verdict.get("policy.debug").stage is Stage.VALIDATE
    # one aTLS connection carried every RPC (§12.7), and it started with the HTTP/2 preface
    assert s.server.connections == 1 and s.server.h2_bytes == [24]
    assert s.service.received_bytes == len(SUM_ALGORITHM) + len(CSV)


def test_open_without_connect_verifies_inside_the_relay(tmp_path):
    party = Party()

    async def main():
        async with stack(computation(party), tmp_path) as s:
            transport = AtlsTransport(gate())
            async with AgentClient(target=s.server.target, transport=transport, signer=party.signer) as client:
                await client.upload_algorithm(_files(tmp_path)[0], algo_type="python",
                                              algo_args=["datasets/data.csv"])
            await transport.close()
            return s, transport

    s, transport = run(main())
    assert transport.verdict is not None and transport.verdict.acceptable
    assert s.service.received_bytes == len(SUM_ALGORITHM)


def test_refusal_inside_the_relay_surfaces_as_unavailable_with_the_verdict(tmp_path):
    party = Party()

    async def main():
        async with stack(computation(party), tmp_path) as s:
            transport = AtlsTransport(gate(trust_sandbox=False))
            async with AgentClient(target=s.server.target, transport=transport, signer=party.signer) as client:
                for _ in range(2):  # grpcio reconnects after its back-off; the relay must not dial again
                    with pytest.raises(AgentUnavailable):
                        await client.upload_algorithm(_files(tmp_path)[0], algo_type="python")
                    await asyncio.sleep(1.2)
            await transport.close()
            return s, transport

    s, transport = run(main())
    assert s.service.received_bytes == 0 and s.server.h2_bytes == [0] and s.server.connections == 1
    assert transport.last_error is not None and transport.last_error.code == "attestation-refused"
    assert transport.verdict is not None and not transport.verdict.authentic


@pytest.mark.parametrize(("target", "expected"), [("127.0.0.1:7002", ("127.0.0.1", 7002)),
                                                  ("[::1]:7002", ("::1", 7002)),
                                                  ("agent.local:1", ("agent.local", 1))])
def test_split_target(target, expected):
    assert split_target(target) == expected


@pytest.mark.parametrize("bad", ["", "7002", "host:", "host:0", "host:70000", "host:x"])
def test_split_target_rejects(bad):
    with pytest.raises(BadInput, match="host:port"):
        split_target(bad)
