"""The Attestation RPC: an EAT whose raw_report binds teeNonce and verifies with the sandbox root."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from core.attestation.eat import decode_eat, verify_eat_signature
from core.attestation.evidence import embedded_cas, embedded_leaf, load_evidence
from core.attestation.roots import TrustStore
from core.attestation.snp.verify import verify_snp
from core.attestation.verdict import Status
from core.attestation.vtpm.algorithms import TpmAlg
from core.attestation.vtpm.attestation import decode_attestation
from core.attestation.vtpm.verify import verify_vtpm
from core.sandbox import agent_errors as err
from core.sandbox.tee import DEBUG_BIT, SANDBOX_MEASUREMENT
from proto.agent import agent_pb2
from sandbox_support import Party, computation, serve, shared_tee


async def _attest(h, **fields) -> tuple[dict, bytes]:  # noqa: ANN001
    call = h.stub.Attestation(agent_pb2.AttestationRequest(**fields))
    header = dict(await call.initial_metadata())
    return header, b"".join([r.file async for r in call])


def _fetch(tmp_path, misbehave=None, **fields):  # noqa: ANN001, ANN202
    async def scenario():
        async with serve(computation(Party()), tmp_path, misbehave=misbehave) as h:
            header, token = await _attest(h, **fields)
            return h.service, header, token
    return asyncio.run(scenario())


def test_eat_binds_nonces_and_verifies_with_trusted_root(tmp_path):
    tee_nonce, vtpm_nonce = b"\x01" * 40, b"\x02" * 20
    service, header, token = _fetch(tmp_path, teeNonce=tee_nonce, vtpmNonce=vtpm_nonce, type=0)
    assert header["file-size"] == str(len(token))
    eat = decode_eat(token)
    assert eat.form == "cose" and eat.algorithm == "ES256" and eat.platform_type == "SNP"
    assert eat.key_id == b"cocos-attestation-service" and eat.issuer == "cocos-attestation-service"
    assert eat.nonce == vtpm_nonce.ljust(32, b"\0")
    assert eat.exp == eat.iat + 300
    assert verify_eat_signature(eat, service.attestation_public_key)
    evidence = load_evidence(token)
    assert evidence.platform == "snp"
    assert evidence.report.report_data == tee_nonce.ljust(64, b"\0")
    assert eat.measurements == SANDBOX_MEASUREMENT == evidence.report.measurement
    trust = TrustStore()
    trust.add_sandbox_root(shared_tee().ark_certificate())
    verdict = verify_snp(evidence.report, vcek=embedded_leaf(evidence), chain=embedded_cas(evidence), trust=trust)
    assert verdict.authentic, [c.explanation for c in verdict.failures()]
    untrusted = verify_snp(evidence.report, vcek=embedded_leaf(evidence), chain=embedded_cas(evidence),
                           trust=TrustStore())
    assert not untrusted.authentic


def test_without_vtpm_nonce_the_eat_nonce_is_the_report_data(tmp_path):
    _, _, token = _fetch(tmp_path, teeNonce=b"\x09" * 64)
    assert decode_eat(token).nonce == b"\x09" * 64


@pytest.mark.parametrize("misbehave", ["wrong-measurement", "broken-binding", "debug-policy"])
def test_service_misbehaviour_reaches_the_report(tmp_path, misbehave):
    _, _, token = _fetch(tmp_path, misbehave=misbehave, teeNonce=b"\x03" * 64)
    report = load_evidence(token).report
    assert (report.measurement != SANDBOX_MEASUREMENT) is (misbehave == "wrong-measurement")
    assert (report.report_data != b"\x03" * 64) is (misbehave == "broken-binding")
    assert bool(report.policy.raw & DEBUG_BIT) is (misbehave == "debug-policy")


@pytest.mark.parametrize(("fields", "message"), [
    ({"teeNonce": b"x" * 65}, err.ERR_TEE_NONCE),
    ({"vtpmNonce": b"x" * 33}, err.ERR_VTPM_NONCE),
    ({"type": 5}, err.ERR_ATTESTATION_TYPE),
    ({"type": 99}, err.ERR_ATTESTATION_TYPE),
    ({"type": 3}, err.ERR_ATTESTATION_FAILED + " : "),
    ({"type": 4}, err.ERR_ATTESTATION_FAILED + " : "),
])
def test_attestation_refusals(tmp_path, fields, message):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        _fetch(tmp_path, **fields)
    assert info.value.code() is grpc.StatusCode.UNKNOWN
    assert info.value.details().startswith(message)


def test_snp_vtpm_evidence_verifies_end_to_end(tmp_path):
    party = Party()
    comp = computation(party)
    tee_nonce, vtpm_nonce = b"\x0a" * 64, b"\x0b" * 32

    async def scenario():
        async with serve(comp, tmp_path) as h:
            return (await _attest(h, teeNonce=tee_nonce, vtpmNonce=vtpm_nonce, type=2))[1]

    token = asyncio.run(scenario())
    eat = decode_eat(token)
    assert eat.platform_type == "SNP-vTPM" and eat.nonce == vtpm_nonce
    evidence = load_evidence(token)
    trust = TrustStore()
    trust.add_sandbox_root(shared_tee().ark_certificate())
    verdict = verify_snp(evidence.report, vcek=embedded_leaf(evidence), chain=embedded_cas(evidence), trust=trust)
    verify_vtpm(eat.raw_report, expected_nonce=vtpm_nonce, snp_report=evidence.report, binding_hash=tee_nonce,
                computation=comp, verdict=verdict)
    assert verdict.authentic, [c.explanation for c in verdict.failures()]
    assert not verdict.failures()
    assert verdict.get("vtpm.ak.binding").status is Status.PASS
    assert verdict.get("vtpm.pcr16.manifest").status is Status.PASS
    # a different manifest, a different nonce or another session's binding are all caught
    other = computation(Party())
    wrong = verify_vtpm(eat.raw_report, expected_nonce=b"\x0c" * 32, snp_report=evidence.report,
                        binding_hash=b"\x0d" * 64, computation=other)
    failed = {c.id for c in wrong.failures()}
    assert {"vtpm.ak.binding", "vtpm.pcr16.manifest"} <= failed
    assert any(i.startswith("vtpm.quote") for i in failed), failed


def test_vtpm_only_evidence_is_served_for_type_1_and_verifies(tmp_path):
    """Type 1 on an SNP-vTPM CVM: quotes over vtpmNonce, no TEE report (ATTESTATION.md §1.2)."""
    party = Party()
    comp = computation(party)
    vtpm_nonce = b"\x0e" * 20

    async def scenario():
        async with serve(comp, tmp_path) as h:
            header, token = await _attest(h, teeNonce=b"\x0f" * 64, vtpmNonce=vtpm_nonce, type=1)
            return h.service, header, token

    service, header, token = asyncio.run(scenario())
    assert header["file-size"] == str(len(token))
    eat = decode_eat(token)
    padded = vtpm_nonce.ljust(32, b"\0")
    assert eat.platform_type == "vTPM" and eat.nonce == padded
    assert verify_eat_signature(eat, service.attestation_public_key)
    pcr0 = service.vtpm.pcrs[TpmAlg.SHA256][0]
    assert eat.measurements == pcr0 and eat.claims.ueid == pcr0[:16]
    attestation = decode_attestation(eat.raw_report)
    assert attestation.sev_snp_attestation is None and attestation.snp_report is None
    verdict = verify_vtpm(eat.raw_report, expected_nonce=padded, computation=comp)
    # genuine quotes over our nonce and manifest; only the hardware tie of the key is missing,
    # which is what vTPM-only evidence means (no TEE vouches for the TPM)
    assert [c.id for c in verdict.failures()] == ["vtpm.ak.binding"], [c.explanation for c in verdict.failures()]
    assert verdict.get("vtpm.pcr16.manifest").status is Status.PASS
    quote_checks = [c for c in verdict.checks if c.id.startswith("vtpm.quote")]
    assert quote_checks and all(c.status is Status.PASS for c in quote_checks)
    replayed = verify_vtpm(eat.raw_report, expected_nonce=b"\x01" * 32, computation=comp)
    assert any(c.id.startswith("vtpm.quote") for c in replayed.failures())


def test_ima_and_azure_token(tmp_path):
    async def scenario():
        async with serve(computation(Party()), tmp_path) as h:
            call = h.stub.IMAMeasurements(agent_pb2.IMAMeasurementsRequest())
            header = dict(await call.initial_metadata())
            messages = [m async for m in call]
            with pytest.raises(grpc.aio.AioRpcError) as long_nonce:
                await h.stub.AzureAttestationToken(agent_pb2.AttestationTokenRequest(tokenNonce=b"x" * 33))
            with pytest.raises(grpc.aio.AioRpcError) as not_azure:
                await h.stub.AzureAttestationToken(agent_pb2.AttestationTokenRequest(tokenNonce=b"x"))
            return header, messages, long_nonce.value, not_azure.value

    header, messages, long_nonce, not_azure = asyncio.run(scenario())
    assert header["file-size"] == "0"
    assert [(m.file, m.pcr10) for m in messages] == [(b"", bytes(20))]
    assert long_nonce.code() is grpc.StatusCode.UNKNOWN and long_nonce.details() == err.ERR_TOKEN_NONCE
    assert not_azure.details().startswith(err.ERR_AZURE_TOKEN + " : ")
