"""One Verdict for SNP-vTPM: the SNP report verified against the synthetic AMD chain, then the vTPM steps;
and a fuzz of the whole verifier over mutated protobuf evidence."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.attestation.roots import TrustStore
from core.attestation.snp.policy import SnpPolicy, validate_snp
from core.attestation.snp.verify import verify_snp
from core.attestation.verdict import Status, Verdict
from core.attestation.vtpm.attestation import encode_attestation
from core.attestation.vtpm.verify import verify_vtpm
from tests.unit.attestation.snp.synth import AT, CHIP_ID, MILAN_TCB, synth_chain, synth_leaf

from .synth import make_evidence
from .test_structures import mutations


def test_snp_and_vtpm_in_one_verdict() -> None:
    ev = make_evidence()
    chain = synth_chain()
    trust = TrustStore()
    trust.add_sandbox_root(chain.ark)
    vcek = synth_leaf(chain, MILAN_TCB, hw_id=CHIP_ID)
    verdict = Verdict(platform="snp-vtpm")
    verify_snp(ev.attestation.snp_report, vcek=vcek, chain=chain.vcek_chain, trust=trust, at=AT, verdict=verdict)
    validate_snp(ev.attestation.snp_report, SnpPolicy(vmpl=2), verdict=verdict)
    verify_vtpm(ev.attestation, expected_nonce=ev.nonce, binding_hash=ev.binding_prefix,
                computation=ev.manifest, verdict=verdict)
    assert verdict.get("snp.signature").status is Status.PASS
    assert verdict.get("vtpm.ak.binding").status is Status.PASS
    assert verdict.get("vtpm.pcr16.manifest").status is Status.PASS
    assert verdict.authentic and verdict.acceptable, [c.to_json() for c in verdict.failures()]


GOOD = make_evidence()
RAW = encode_attestation(GOOD.attestation)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations(RAW))
def test_fuzz_verify_never_raises(data: bytes) -> None:
    verdict = verify_vtpm(data, expected_nonce=GOOD.nonce, binding_hash=GOOD.binding_prefix,
                          snp_report=GOOD.attestation.snp_report, computation=GOOD.manifest)
    assert verdict.checks
    if data != RAW:
        assert verdict.get("vtpm.evidence.parse") is not None
