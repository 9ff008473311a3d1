"""The simulated SNP TEE: its reports parse and verify only with the sandbox root trusted."""

from __future__ import annotations

import stat

import pytest
from core.attestation.roots import TrustStore
from core.attestation.snp.certs import CertRole, classify, load_certificates, serial_number
from core.attestation.snp.report import parse_report
from core.attestation.snp.verify import verify_snp
from core.attestation.verdict import Status
from core.errors import BadInput
from core.sandbox.chain import SANDBOX_MARK, is_sandbox_certificate
from core.sandbox.tee import COCOS_VMPL, DEBUG_BIT, SANDBOX_MEASUREMENT, SandboxStateError, SandboxTee
from sandbox_support import shared_tee

NONCE = bytes(range(64))


def _verify(tee: SandboxTee, report: bytes, *, trusted: bool):  # noqa: ANN202
    trust = TrustStore()
    if trusted:
        trust.add_sandbox_root(tee.ark_certificate())
    return verify_snp(report, vcek=tee.vcek_certificate(),
                      chain=[tee.ask_certificate(), tee.ark_certificate()], trust=trust)


def test_report_parses_with_requested_fields():
    tee = shared_tee()
    report = parse_report(tee.report(NONCE))
    assert len(report.raw) == 0x4A0 and report.version == 3
    assert report.report_data == NONCE
    assert report.measurement == SANDBOX_MEASUREMENT
    assert report.vmpl == COCOS_VMPL
    assert report.policy.raw == 0x30000 and not report.policy.debug_allowed
    assert report.chip_id == tee.chip_id and any(report.chip_id)
    assert report.product is not None and report.product.value == "Milan"


def test_verifies_with_trusted_sandbox_root_and_fails_without():
    tee = shared_tee()
    report = tee.report(NONCE)
    trusted = _verify(tee, report, trusted=True)
    assert trusted.authentic, [c.explanation for c in trusted.failures()]
    assert trusted.get("snp.signature").status is Status.PASS
    assert trusted.get("snp.chip_id").status is Status.PASS
    # the verifier says plainly that this is a sandbox, not AMD
    assert trusted.get("snp.chain.ark").status is Status.WARN
    assert "sandbox" in trusted.get("snp.chain.ark").explanation
    untrusted = _verify(tee, report, trusted=False)
    assert not untrusted.authentic
    assert untrusted.get("snp.chain.ask").status is Status.FAIL


def test_certificates_follow_amd_profile_with_sandbox_mark():
    tee = shared_tee()
    ark, ask, vcek = tee.ark_certificate(), tee.ask_certificate(), tee.vcek_certificate()
    assert [classify(c)[0] for c in (ark, ask, vcek)] == [CertRole.ARK, CertRole.ASK, CertRole.VCEK]
    assert all(is_sandbox_certificate(c) for c in (ark, ask, vcek))
    assert SANDBOX_MARK in ark.subject.rfc4514_string()
    assert serial_number(vcek) == 0
    assert ark.public_key().key_size == 4096 and vcek.public_key().curve.name == "secp384r1"
    pem = tee.chain_pem()
    assert [c.subject for c in load_certificates(pem)] == [vcek.subject, ask.subject, ark.subject]


@pytest.mark.parametrize("defect", ["wrong-measurement", "broken-binding", "debug-policy"])
def test_misbehaviour_produces_the_named_defect(defect):
    tee = shared_tee()
    raw = tee.report(NONCE, misbehave=defect)
    report = parse_report(raw)
    verdict = _verify(tee, raw, trusted=True)
    # the report is still genuinely signed: each defect must be caught by validation, not by crypto
    assert verdict.get("snp.signature").status is Status.PASS
    assert (report.measurement != SANDBOX_MEASUREMENT) is (defect == "wrong-measurement")
    assert (report.report_data != NONCE) is (defect == "broken-binding")
    assert bool(report.policy.raw & DEBUG_BIT) is (defect == "debug-policy")
    if defect == "debug-policy":
        assert verdict.get("snp.debug").status is not Status.PASS


def test_bad_arguments_are_typed_errors():
    tee = shared_tee()
    with pytest.raises(BadInput, match="exactly 64 bytes"):
        tee.report(b"short")
    with pytest.raises(BadInput, match="unknown misbehaviour"):
        tee.report(NONCE, misbehave="sleepy")
    with pytest.raises(BadInput, match="48 bytes"):
        tee.report(NONCE, measurement=b"x")


def test_chain_persists_across_restarts_with_private_files(tmp_path):
    first = SandboxTee(tmp_path / "tee")
    report = first.report(NONCE)
    again = SandboxTee(tmp_path / "tee")
    assert again.ark_certificate() == first.ark_certificate()
    assert again.vcek_certificate() == first.vcek_certificate()
    assert again.chip_id == first.chip_id
    # a report from the restarted TEE verifies against the root trusted before the restart
    assert _verify(first, again.report(NONCE), trusted=True).authentic
    assert _verify(again, report, trusted=True).authentic
    for path in (tmp_path / "tee").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_corrupted_state_is_reported(tmp_path):
    tee = SandboxTee(tmp_path / "tee")
    tee.ark_certificate()
    (tmp_path / "tee" / "vcek.key.pem").write_bytes(b"garbage")
    with pytest.raises(SandboxStateError, match="delete that folder"):
        SandboxTee(tmp_path / "tee").report(NONCE)
