"""The evidence façade: detection, describe, policy loading, assess and the HTML report.

Fresh-machine tests build their own evidence (tests/unit/attestation/{snp,tdx}/synth.py); the
real-corpus tests go through shared_testdata and skip when it is absent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.attestation.assess import PolicyFormatError, assess, load_policy, verdict_to_html
from core.attestation.eat_encode import encode_eat_cose
from core.attestation.eat_wrappers import encode_sevsnp_attestation
from core.attestation.evidence import UnknownEvidenceError, describe, load_evidence
from core.attestation.roots import TrustStore
from core.attestation.snp.policy import SnpPolicy
from core.attestation.tdx.policy import TdxPolicy
from core.attestation.verdict import Check, Status, Verdict
from core.errors import BadInput, EvidenceError
from tests.conftest import shared_testdata
from tests.unit.attestation.snp.synth import CHIP_ID, MILAN_TCB, build_report, synth_chain, synth_leaf
from tests.unit.attestation.tdx import synth as tdx_synth

AT = datetime(2024, 6, 1, tzinfo=timezone.utc)


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


def _assess(data: bytes, vcek, chain, trust, **kw) -> Verdict:
    return assess(load_evidence(data), vcek=vcek, chain=chain.vcek_chain, trust=trust, at=AT, **kw)


# --- detection -----------------------------------------------------------------------------------

def test_raw_snp_report_is_recognised_and_described():
    raw = build_report(reported_tcb=MILAN_TCB, measurement=b"\xab" * 48)
    ev = load_evidence(raw)
    assert (ev.platform, ev.source, ev.raw) == ("snp", "snp-report", raw)
    rows = {(g, n): v for g, n, v in describe(ev)}
    assert rows[("measurements", "measurement")] == "ab" * 48
    assert rows[("policy", "debug_allowed")] == "no"
    assert rows[("identity", "product")].startswith("Milan")
    assert {g for g, _, _ in describe(ev)} >= {"identity", "measurements", "tcb", "policy", "platform",
                                                "signature"}


@pytest.mark.parametrize("encode", [lambda b: b.hex().encode(), base64.b64encode])
def test_hex_and_base64_text_are_decoded(encode):
    raw = build_report(reported_tcb=MILAN_TCB)
    ev = load_evidence(encode(raw) + b"\n")
    assert ev.raw == raw and ev.platform == "snp"


def test_tdx_quote_is_recognised_and_described():
    raw = tdx_synth.make_quote()
    ev = load_evidence(raw)
    assert (ev.platform, ev.source) == ("tdx", "tdx-quote")
    rows = {(g, n): v for g, n, v in describe(ev)}
    assert rows[("policy", "debug")] == "no"
    assert rows[("platform", "fmspc")] == tdx_synth.FMSPC.hex()


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"\x00" * 3000, "cannot tell"),
    (b"hello world, not evidence", "cannot tell"),
])
def test_unknown_evidence_is_a_typed_error(data, message):
    with pytest.raises(UnknownEvidenceError, match=message):
        load_evidence(data)


def test_truncated_report_names_the_problem():
    raw = build_report(reported_tcb=MILAN_TCB)[:-1]
    with pytest.raises(EvidenceError, match="1183"):
        load_evidence(raw)


def test_platform_mismatch_is_refused():
    with pytest.raises(EvidenceError, match="asked for TDX"):
        load_evidence(build_report(reported_tcb=MILAN_TCB), platform="tdx")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_fuzz_only_typed_errors_escape(data):
    try:
        load_evidence(data)
    except EvidenceError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([b"\xd2", b"\x84", b"\xa1", b"HCLA", b"\x04\x00\x02\x00", b"\x03\x00\x00\x00", b"eyJ"]),
       st.binary(max_size=1500))
def test_fuzz_prefixed_inputs(prefix, tail):
    try:
        load_evidence(prefix + tail)
    except EvidenceError:
        pass


# --- wrappers ------------------------------------------------------------------------------------

def _hcl(runtime: bytes, report_data: bytes) -> bytes:
    report = build_report(reported_tcb=MILAN_TCB, report_data=report_data)
    header = b"HCLA" + struct.pack("<I", 1) + bytes(24)
    return header + report + struct.pack("<5I", 20 + len(runtime), 1, 2, 1, len(runtime)) + runtime


def test_azure_hcl_binding_pass_and_fail(vcek, chain, trust):
    runtime = json.dumps({"keys": [{"kid": "HCLAkPub"}]}).encode()
    good = _hcl(runtime, hashlib.sha256(runtime).digest() + bytes(32))
    verdict = _assess(good, vcek, chain, trust)
    assert load_evidence(good).source == "azure-hcl"
    assert verdict.get("azure.runtime_data").status is Status.PASS and verdict.authentic
    bad = _hcl(runtime.replace(b"HCLAkPub", b"EvilKey!"), hashlib.sha256(runtime).digest() + bytes(32))
    verdict = _assess(bad, vcek, chain, trust)
    assert [c.id for c in verdict.failures()] == ["azure.runtime_data"]


def test_eat_routes_raw_report_and_carried_vcek(vcek, chain, trust):
    report = build_report(reported_tcb=MILAN_TCB)
    der = vcek.public_bytes(serialization.Encoding.DER)
    raw_report = encode_sevsnp_attestation(report, vcek=der, product=1)
    eat = encode_eat_cose({"eat_nonce": b"\x01" * 32, "platform_type": "SNP", "raw_report": raw_report},
                          ec.generate_private_key(ec.SECP256R1()))
    ev = load_evidence(eat)
    assert (ev.platform, ev.source, ev.raw) == ("snp", "eat-cose", report)
    assert len(ev.certs) == 1
    verdict = assess(ev, chain=chain.vcek_chain, trust=trust, at=AT)  # the VCEK comes from the EAT
    assert verdict.authentic
    assert verdict.get("eat.signature").status is Status.SKIP
    assert ("eat", "platform_type", "SNP") in describe(ev)


# --- assess --------------------------------------------------------------------------------------

def test_assess_snp_with_and_without_policy(vcek, chain, trust):
    raw = build_report(reported_tcb=MILAN_TCB)
    verdict = _assess(raw, vcek, chain, trust)
    assert verdict.authentic and not verdict.policy_applied
    verdict = _assess(raw, vcek, chain, trust, policy=SnpPolicy.from_report(load_evidence(raw).report))
    assert verdict.acceptable and verdict.policy_applied
    verdict = _assess(raw, vcek, chain, trust, policy=SnpPolicy(measurements=(b"\x99" * 48,)))
    assert verdict.authentic and not verdict.acceptable
    assert "policy.measurement" in {c.id for c in verdict.failures()}


def test_debug_guest_is_warned_then_fails_a_no_debug_policy(vcek, chain, trust):
    raw = build_report(reported_tcb=MILAN_TCB, policy=0xB0000)
    verdict = _assess(raw, vcek, chain, trust)
    assert verdict.acceptable and verdict.get("snp.debug").status is Status.WARN
    verdict = _assess(raw, vcek, chain, trust, policy=SnpPolicy())
    assert [c.id for c in verdict.failures()] == ["policy.debug"]


def test_self_made_chain_is_not_authentic_without_explicit_trust(vcek, chain):
    verdict = assess(load_evidence(build_report(reported_tcb=MILAN_TCB)), vcek=vcek, chain=chain.vcek_chain,
                     at=AT)
    assert not verdict.authentic


def test_assess_tdx_with_collateral_and_policy():
    pki = tdx_synth.default_pki()
    ev = load_evidence(tdx_synth.make_quote(pki))
    collateral = tdx_synth.make_collateral(pki)
    trust = tdx_synth.trust_for(pki)
    verdict = assess(ev, collateral=collateral, trust=trust, at=tdx_synth.EPOCH,
                     policy=TdxPolicy.from_quote(ev.quote))
    assert verdict.acceptable, verdict.failures()
    verdict = assess(ev, collateral=collateral, trust=trust, at=tdx_synth.EPOCH,
                     policy=TdxPolicy(mr_td=b"\x55" * 48))
    assert verdict.authentic and "policy.mrtd" in {c.id for c in verdict.failures()}


def test_policy_for_the_other_platform_is_refused(vcek, chain, trust):
    with pytest.raises(PolicyFormatError, match="policy is for TDX"):
        _assess(build_report(reported_tcb=MILAN_TCB), vcek, chain, trust, policy=TdxPolicy())


# --- policies ------------------------------------------------------------------------------------

def test_load_policy_detects_our_json_for_both_platforms():
    snp = SnpPolicy(measurements=(b"\x01" * 48,), vmpl=2)
    assert load_policy(snp.to_json()) == snp
    tdx = TdxPolicy(mr_td=b"\x02" * 48)
    assert load_policy(json.dumps(tdx.to_json()).encode(), "tdx") == tdx


def test_load_policy_reads_legacy_snp_json():
    doc = {"policy": {"policy": 196608, "vmpl": 2, "measurement": base64.b64encode(b"\x07" * 48).decode(),
                      "product": {"name": 1}, "minimum_version": "1.55"},
           "root_of_trust": {"product_line": "Milan", "check_crl": True}, "pcr_values": {}}
    policy = load_policy(json.dumps(doc).encode(), "snp")
    assert isinstance(policy, SnpPolicy)
    assert policy.measurements == (b"\x07" * 48,) and policy.vmpl == 2


def test_load_policy_reads_legacy_tdx_json():
    doc = {"policy": {"headerPolicy": {"qeVendorId": base64.b64encode(bytes(range(16))).decode()},
                      "tdQuoteBodyPolicy": {"mrTd": base64.b64encode(b"\x03" * 48).decode(),
                                            "rtmrs": [base64.b64encode(b"\x04" * 48).decode()]}},
           "rootOfTrust": {"checkCrl": True}}
    policy = load_policy(json.dumps(doc).encode())
    assert isinstance(policy, TdxPolicy)
    assert policy.mr_td == b"\x03" * 48 and policy.rtmrs[0] == b"\x04" * 48 and policy.rtmrs[1] is None
    assert policy.qe_vendor_id == bytes(range(16))


def test_load_policy_detects_corim_for_both_platforms():
    from core.attestation import corim

    snp = load_policy(corim.corim_from_snp_policy(SnpPolicy(measurements=(b"\x09" * 48,))))
    assert isinstance(snp, SnpPolicy) and snp.measurements == (b"\x09" * 48,)
    tdx = load_policy(corim.corim_from_tdx_policy(TdxPolicy(mr_td=b"\x08" * 48, mr_seam=b"\x07" * 48,
                                                            rtmrs=(b"\x01" * 48,) * 4)))
    assert isinstance(tdx, TdxPolicy) and tdx.mr_td == b"\x08" * 48
    with pytest.raises(PolicyFormatError, match="TDX reference values"):
        load_policy(corim.corim_from_tdx_policy(TdxPolicy(mr_td=b"\x08" * 48, mr_seam=b"\x07" * 48,
                                                          rtmrs=(b"\x01" * 48,) * 4)), "snp")


@pytest.mark.parametrize(("data", "platform", "message"), [
    (b"\x00\x01garbage", "auto", "neither JSON nor a CoRIM"),
    (b'{"hello": 1}', "auto", "not an attestation policy"),
    (b"{not json", "auto", "does not parse"),
    (b'{"format": "prism-snp-policy", "version": 1}', "tdx", "SNP policy, but the evidence is TDX"),
    (b'{"policy": {"tdQuoteBodyPolicy": {"mrTd": "zz"}}}', "auto", "neither base64 nor hex"),
])
def test_bad_policies_are_typed_errors(data, platform, message):
    with pytest.raises(BadInput, match=message):
        load_policy(data, platform)


# --- HTML ----------------------------------------------------------------------------------------

def test_html_report_escapes_everything(vcek, chain, trust):
    ev = load_evidence(build_report(reported_tcb=MILAN_TCB))
    verdict = _assess(ev.raw, vcek, chain, trust)
    verdict.add(Check("x.<script>", Status.FAIL, "<script>alert(1)</script>", expected="<b>", actual="&"))
    page = verdict_to_html(verdict, ev)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "NOT AUTHENTIC" in page and "snp.signature" in page and "&amp;" in page
    assert "http://" not in page and "https://" not in page


# --- the real corpus -----------------------------------------------------------------------------

def test_real_eat_is_routed_to_the_milan_report():
    eat = (shared_testdata("cocos", "atls", "snp_aes128") / "eat_evidence.bin").read_bytes()
    report = (shared_testdata("attestation", "snp", "mstav_milan_v3_vcek") / "report.bin").read_bytes()
    ev = load_evidence(eat)
    assert ev.raw == report and ev.eat_platform_type == "SNP"
    verdict = assess(ev, at=datetime(2026, 2, 6, tzinfo=timezone.utc))
    assert verdict.authentic, verdict.failures()


def test_real_azure_hcl_report_binds_its_runtime_data():
    base = shared_testdata("attestation", "snp", "trustee_azure_vtpm_milan_hclreport")
    from core.attestation.snp.certs import load_certificate_files

    ev = load_evidence((base / "hcl_report.bin").read_bytes())
    verdict = assess(ev, chain=load_certificate_files(base / "vcek_ask_ark.pem"),
                     at=datetime(2024, 7, 3, tzinfo=timezone.utc))
    assert verdict.authentic and verdict.get("azure.runtime_data").status is Status.PASS


# --- CBOR-looking bytes, extended reports, grouping, TDX policy tag -------------------------------

@pytest.mark.parametrize("data", [
    b"\xa1\xff" + bytes(range(200)),          # a map whose first key is a stray "break"
    b"\xd2\x84\x43" + b"\x00",                # tag 18 over an array cut short
    b"\x84\x40\xa0\x40",                      # a COSE-like array with one of four items
    b"\xa1\x00\x00" + b"trailing junk",       # one item, then bytes that belong to nothing
])
def test_random_bytes_that_start_like_cbor_are_unknown_evidence(data):
    with pytest.raises(UnknownEvidenceError, match="cannot tell what this evidence is") as info:
        load_evidence(data)
    assert "starts like CBOR" in str(info.value)


def test_well_formed_cbor_that_is_no_eat_keeps_the_eat_decoders_complaint():
    import cbor2

    with pytest.raises(EvidenceError) as info:
        load_evidence(cbor2.dumps({"hello": "world"}))
    assert not isinstance(info.value, UnknownEvidenceError)


def _table(chain, vcek) -> bytes:
    from core.attestation.snp.certtable import GUID_ARK, GUID_ASK, GUID_VCEK, build_cert_table

    der = serialization.Encoding.DER
    return build_cert_table([(GUID_VCEK, vcek.public_bytes(der)), (GUID_ASK, chain.ask.public_bytes(der)),
                             (GUID_ARK, chain.ark.public_bytes(der))])


def test_report_followed_by_a_certificate_table_is_an_extended_report(vcek, chain, trust):
    report = build_report(reported_tcb=MILAN_TCB)
    ev = load_evidence(report + _table(chain, vcek))
    assert (ev.platform, ev.source, ev.raw) == ("snp", "snp-extended", report)
    assert [c.subject for c in ev.certs] == [vcek.subject, chain.ask.subject, chain.ark.subject]
    verdict = assess(ev, trust=trust, at=AT)  # every certificate came with the evidence
    assert verdict.authentic, verdict.failures()
    assert load_evidence(base64.b64encode(report + _table(chain, vcek))).source == "snp-extended"


def test_damaged_table_after_a_report_is_a_typed_error(vcek, chain):
    from core.attestation.snp.certtable import CertTableError

    data = build_report(reported_tcb=MILAN_TCB) + _table(chain, vcek)
    with pytest.raises(CertTableError, match="followed by a damaged certificate table"):
        load_evidence(data[:-10])


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_report_followed_by_a_table_header(tail):
    from core.attestation.snp.certtable import GUID_VCEK

    data = build_report(reported_tcb=MILAN_TCB) + GUID_VCEK.bytes + tail
    try:
        load_evidence(data)
    except EvidenceError:
        pass


def test_describe_keeps_each_group_together_for_a_tdx_v5_quote():
    from itertools import groupby

    rows = describe(load_evidence(tdx_synth.make_quote(version=5, body_type=3)))
    runs = [group for group, _ in groupby(g for g, _, _ in rows)]
    assert runs == ["evidence", "identity", "measurements", "tcb", "policy", "platform", "signature"]
    names = [n for g, n, _ in rows if g == "tcb"]
    assert names[:2] == ["tee_tcb_svn", "tee_tcb_svn_2"]


def test_tdx_policy_format_tag_is_recognised():
    tagged = json.dumps({"format": "prism-tdx-policy", "version": 1}).encode()
    # the tag alone names the platform, before any TDX-only key is looked at
    with pytest.raises(PolicyFormatError, match="this is a TDX policy, but the evidence is SNP"):
        load_policy(tagged, "snp")
    policy = TdxPolicy(mr_td=b"\x02" * 48)
    assert load_policy(json.dumps(policy.to_json()).encode()) == policy
