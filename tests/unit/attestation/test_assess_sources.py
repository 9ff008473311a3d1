"""assess()'s other inputs: collateral from files, tables and the workspace cache; vTPM session values."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import serialization

from core.attestation.assess import VtpmExpectations, assess, load_collateral
from core.attestation.collateral.cache import CollateralCache
from core.attestation.collateral.directory import CollateralDirError, load_collateral_dir, load_collateral_file
from core.attestation.collateral_inputs import WORKSPACE_CACHE
from core.attestation.evidence import load_evidence
from core.attestation.roots import TrustStore
from core.attestation.snp.certtable import GUID_ARK, GUID_ASK, GUID_VCEK, build_cert_table
from core.attestation.verdict import Status
from core.errors import BadInput
from core.sandbox.eat_builder import AttestationServiceKey, encode_cose_eat, snp_claims, snp_raw_report
from core.sandbox.tee import SandboxTee
from core.sandbox.vtpm import SandboxVtpm
from tests.unit.attestation.snp.synth import CHIP_ID, MILAN_TCB, build_report, synth_chain, synth_leaf

AT = datetime(2024, 6, 1, tzinfo=timezone.utc)
DER, PEM = serialization.Encoding.DER, serialization.Encoding.PEM


@pytest.fixture(scope="module")
def chain():
    return synth_chain()


@pytest.fixture(scope="module")
def vcek(chain):
    return synth_leaf(chain, MILAN_TCB, hw_id=CHIP_ID)


@pytest.fixture
def trust(chain) -> TrustStore:
    store = TrustStore()
    store.add_sandbox_root(chain.ark)
    return store


@pytest.fixture
def evidence():
    return load_evidence(build_report(reported_tcb=MILAN_TCB))


@pytest.fixture
def folder(tmp_path, chain, vcek):
    path = tmp_path / "loose"
    path.mkdir()
    (path / "vcek.pem").write_bytes(vcek.public_bytes(PEM))
    (path / "chain.pem").write_bytes(chain.ask.public_bytes(PEM) + chain.ark.public_bytes(PEM))
    return path


def test_the_cache_is_read_last_and_never_created(tmp_path, folder, evidence, trust):
    cache_dir = tmp_path / "workspace" / "cache"
    empty = load_collateral([], evidence, cache_dir=cache_dir)
    assert (empty.snp_certs, empty.sources) == ((), ())
    assert not cache_dir.exists()
    cache = CollateralCache.for_workspace(cache_dir)
    for item in load_collateral_dir(folder):
        cache.put(item)
    cached = load_collateral([], evidence, cache_dir=cache_dir)
    assert cached.sources == (WORKSPACE_CACHE,) and len(cached.snp_certs) == 3
    assert assess(evidence, collateral=cached, trust=trust, at=AT).authentic
    both = load_collateral([folder], evidence, cache_dir=cache_dir)
    assert both.sources == (str(folder), WORKSPACE_CACHE)
    assert both.snp_certs[:3] == load_collateral([folder], evidence).snp_certs  # the user's files first


def test_loose_files_and_certificate_tables_are_collateral(tmp_path, folder, evidence, trust, chain, vcek):
    files = load_collateral([folder / "vcek.pem", folder / "chain.pem"], evidence)
    assert assess(evidence, collateral=files, trust=trust, at=AT).authentic
    table = build_cert_table([(GUID_VCEK, vcek.public_bytes(DER)), (GUID_ASK, chain.ask.public_bytes(DER)),
                              (GUID_ARK, chain.ark.public_bytes(DER))])
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "extended.bin").write_bytes(build_report(reported_tcb=MILAN_TCB) + table)  # as a host ships it
    kinds = sorted(i.kind for i in load_collateral_dir(kept))
    assert len(kinds) == 3 and any("vcek" in k for k in kinds)
    assert assess(evidence, collateral=load_collateral([kept], evidence), trust=trust, at=AT).authentic
    (kept / "extended.bin").write_bytes(build_report(reported_tcb=MILAN_TCB) + table[:40])
    with pytest.raises(CollateralDirError, match="damaged SNP certificate table"):
        load_collateral_dir(kept)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CollateralDirError, match="holds no collateral"):
        load_collateral_file(tmp_path / "notes.txt")


# --- vTPM -----------------------------------------------------------------------------------------

def test_request_values_are_padded_as_the_agent_pads_them():
    expect = VtpmExpectations.from_request(vtpm_nonce=b"\x01" * 5, tee_nonce=b"\x02" * 3)
    assert expect.nonce == b"\x01" * 5 + bytes(27)
    assert expect.binding == b"\x02" * 3 + bytes(61)
    with pytest.raises(BadInput, match="at most 32 bytes"):
        VtpmExpectations.from_request(vtpm_nonce=bytes(33))
    with pytest.raises(BadInput, match="must be 64 bytes"):
        VtpmExpectations(binding=bytes(63))


@pytest.fixture(scope="module")
def snp_vtpm(tmp_path_factory):
    tee, vtpm = SandboxTee(tmp_path_factory.mktemp("tee")), SandboxVtpm()
    tee_nonce, vtpm_nonce = hashlib.sha512(b"tee").digest(), hashlib.sha256(b"vtpm").digest()
    report = tee.report(hashlib.sha3_512(tee_nonce + vtpm.ak_pub()).digest())
    snp = snp_raw_report(report, vcek_der=tee.vcek_certificate().public_bytes(DER),
                         ask_der=tee.ask_certificate().public_bytes(DER),
                         ark_der=tee.ark_certificate().public_bytes(DER))
    eat = encode_cose_eat(snp_claims(report, vtpm.attestation(vtpm_nonce, snp), vtpm_nonce,
                                     platform_type="SNP-vTPM"), AttestationServiceKey())
    trust = TrustStore()
    trust.add_sandbox_root(tee.ark_certificate())
    return load_evidence(eat), trust, tee_nonce, vtpm_nonce


def test_without_expectations_the_vtpm_part_is_left_to_the_live_session(snp_vtpm):
    evidence, trust, _, _ = snp_vtpm
    verdict = assess(evidence, trust=trust)
    assert [c.id for c in verdict.checks if c.id.startswith("vtpm")] == ["vtpm.quote"]
    assert verdict.get("vtpm.quote").status is Status.SKIP


def test_expectations_run_the_vtpm_checks(snp_vtpm):
    evidence, trust, tee_nonce, vtpm_nonce = snp_vtpm
    bare = assess(evidence, trust=trust, vtpm=VtpmExpectations())
    assert bare.authentic and not bare.policy_applied
    assert bare.get("vtpm.quote.signature").status is Status.PASS
    assert bare.get("vtpm.quote.nonce").status is Status.SKIP
    assert bare.get("vtpm.ak.binding").status is Status.SKIP
    assert "carries nonce " + vtpm_nonce.hex() in bare.get("vtpm.quote.nonce").actual
    full = assess(evidence, trust=trust, vtpm=VtpmExpectations(nonce=vtpm_nonce, binding=tee_nonce))
    assert not full.failures(), full.failures()
    assert full.get("vtpm.ak.binding").status is Status.PASS and full.get("vtpm.quote.nonce").status is Status.PASS
    ids = [c.id for c in full.checks]
    assert len(ids) == len(set(ids))  # one check per id


def test_policy_reference_pcrs_are_enforced_on_signed_quotes(snp_vtpm):
    from core.attestation.snp.policy import ReferencePcr, SnpPolicy
    from core.attestation.vtpm.attestation import decode_attestation

    evidence, trust, tee_nonce, vtpm_nonce = snp_vtpm
    quoted = decode_attestation(evidence.eat.raw_report).quotes[0].pcrs
    index, value = quoted.values[0]
    bank = quoted.hash_alg

    def judged(expected: bytes):
        policy = SnpPolicy(reference_pcrs=(ReferencePcr(bank, index, expected),))
        return assess(evidence, trust=trust, policy=policy, vtpm=VtpmExpectations(
            nonce=vtpm_nonce, binding=tee_nonce, reference_pcrs=policy.reference_pcr_map()))

    holds = judged(value)
    assert holds.get("vtpm.pcr.boot").status is Status.PASS
    assert holds.get("policy.pcr_values") is None  # checked, so no "not checked" note
    differs = judged(bytes(len(value)))
    assert not differs.acceptable and differs.get("vtpm.pcr.boot").status is Status.FAIL
    # from a bare report (no quotes judged) the reference PCRs are reported, never silently dropped
    bare = assess(evidence, trust=trust, policy=SnpPolicy(reference_pcrs=(ReferencePcr(bank, index, value),)))
    assert bare.get("policy.pcr_values").status is Status.WARN
