"""SnpPolicy: JSON round trip, from_report, each rule failing with its id, legacy import."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from core.attestation.snp.policy import SnpPolicy, TcbMinimum, validate_snp
from core.attestation.snp.policy_json import PolicyError
from core.attestation.snp.report import parse_report
from core.attestation.snp.tcb import Product
from core.attestation.verdict import Stage, Status, Verdict

from .synth import MILAN_TCB, build_report, sign_report


@pytest.fixture(scope="module")
def report():
    return parse_report(build_report(product=Product.MILAN, version=5, reported_tcb=MILAN_TCB, vmpl=2))


def _fails(report, policy) -> set[str]:
    verdict = validate_snp(report, policy, Verdict("snp"))
    assert verdict.policy_applied
    assert all(c.stage is Stage.VALIDATE for c in verdict.checks)
    return {c.id for c in verdict.failures()}


def test_from_report_then_validate_passes(report):
    policy = SnpPolicy.from_report(report)
    assert _fails(report, policy) == set()
    assert policy.measurements == (report.measurement,) and policy.vmpl == 2


def test_from_report_passes_on_real_reports(snp_data):
    for path in sorted(snp_data.glob("*/report.bin")):
        real = parse_report(path.read_bytes())
        assert _fails(real, SnpPolicy.from_report(real)) == set(), path.parent.name


def test_json_round_trip(report):
    policy = replace(SnpPolicy.from_report(report), max_vmpl=3, require_crl=True,
                     minimum_tcb=TcbMinimum(bootloader=1, fmc=None))
    data = policy.to_json()
    assert json.loads(data)["format"] == "prism-snp-policy" and json.loads(data)["version"] == 1
    assert SnpPolicy.from_json(data) == policy


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(surprise=1), "unknown keys \\['surprise'\\]"),
    (lambda d: d.update(version=2), "version 2 is not supported"),
    (lambda d: d.update(format="other"), "not a Prism SNP policy"),
    (lambda d: d.update(measurements=["abcd"]), "'measurements' must be 48 bytes"),
    (lambda d: d.update(vmpl="2"), "'vmpl' must be a non-negative integer"),
    (lambda d: d.update(minimum_tcb={"bootloader": 300}), "0-255"),
    (lambda d: d.update(minimum_version="1"), "major.minor"),
    (lambda d: d.update(product="Rome"), "unknown product"),
])
def test_bad_policy_json_is_rejected_clearly(report, edit, message):
    doc = json.loads(SnpPolicy.from_report(report).to_json())
    edit(doc)
    with pytest.raises(PolicyError, match=message) as info:
        SnpPolicy.from_json(json.dumps(doc))
    assert info.value.code == "snp-policy"


RULES = [
    ("measurements", (b"\x00" * 48,), "policy.measurement"),
    ("report_data", b"\x00" * 64, "policy.report_data"),
    ("host_data", b"\x01" * 32, "policy.host_data"),
    ("family_id", b"\x01" * 16, "policy.family_id"),
    ("image_id", b"\x01" * 16, "policy.image_id"),
    ("report_id", b"\x01" * 32, "policy.report_id"),
    ("report_id_ma", b"\x01" * 32, "policy.report_id_ma"),
    ("vmpl", 0, "policy.vmpl"),
    ("max_vmpl", 1, "policy.vmpl"),
    ("smt_allowed", False, "policy.smt"),
    ("minimum_tcb", TcbMinimum(snp=25), "policy.tcb.snp"),
    ("minimum_tcb", TcbMinimum(microcode=220), "policy.tcb.microcode"),
    ("minimum_tcb", TcbMinimum(fmc=1), "policy.tcb.fmc"),
    ("minimum_launch_tcb", TcbMinimum(bootloader=5), "policy.launch_tcb.bootloader"),
    ("minimum_build", 22, "policy.firmware.build"),
    ("minimum_version", (1, 56), "policy.firmware.version"),
    ("minimum_guest_svn", 2, "policy.guest_svn"),
    ("minimum_abi", (1, 0), "policy.abi"),
    ("allowed_chip_ids", (b"\x00" * 64,), "policy.chip_id"),
    ("trusted_id_key_digests", (b"\x01" * 48,), "policy.id_key"),
    ("require_author_key", True, "policy.author_key"),
    ("product", Product.GENOA, "policy.product"),
    ("platform_info", 0x24, "policy.platform_info"),
    ("platform_info", 0x3D, "policy.platform_info"),
    ("minimum_current_mit_vector", 0x7, "policy.mitigations"),
    ("require_crl", True, "policy.crl"),
]


@pytest.mark.parametrize(("field", "value", "check_id"), RULES)
def test_each_rule_fails_on_a_mutated_expectation(report, field, value, check_id):
    policy = replace(SnpPolicy.from_report(report), **{field: value})
    assert _fails(report, policy) == {check_id}


def test_debug_migration_vlek_and_provisional_rules():
    debug = parse_report(build_report(reported_tcb=MILAN_TCB, policy=0xB0000))
    assert _fails(debug, SnpPolicy()) == {"policy.debug"}
    check = validate_snp(debug, SnpPolicy()).get("policy.debug")
    assert "host could read this VM's memory" in check.explanation
    assert _fails(debug, SnpPolicy(debug_allowed=True)) == set()
    ma = parse_report(build_report(reported_tcb=MILAN_TCB, policy=0x70000))
    assert _fails(ma, SnpPolicy()) == {"policy.migration_agent"}
    vlek = parse_report(build_report(reported_tcb=MILAN_TCB, signing_key=1, key_label="vlek"))
    assert _fails(vlek, SnpPolicy()) == {"policy.signing_key"}
    assert _fails(vlek, SnpPolicy(allow_vlek=True)) == set()
    masked = parse_report(build_report(reported_tcb=MILAN_TCB, chip_id=bytes(64)))
    assert _fails(masked, SnpPolicy(allow_masked_chip_id=False)) == {"policy.chip_id"}


def test_provisional_firmware(report):
    raw = bytearray(report.raw)
    raw[0x1EC] = 20  # committed build behind the current one
    provisional = parse_report(sign_report(bytes(raw)))
    assert _fails(provisional, SnpPolicy(permit_provisional_firmware=False)) == {"policy.firmware.provisional"}
    assert _fails(provisional, SnpPolicy(permit_provisional_firmware=True)) == set()


def test_crl_rule_passes_when_the_crl_check_passed(report):
    verdict = Verdict("snp")
    from core.attestation.snp.checks import verify_check
    verdict.add(verify_check("snp.crl", True, "ok"))
    validate_snp(report, SnpPolicy(require_crl=True), verdict)
    assert verdict.get("policy.crl").status is Status.PASS


def _legacy(**policy) -> bytes:
    base = {"policy": 196608, "vmpl": 2, "product": {"name": 1}, "minimumVersion": "1.55",
            "permitProvisionalFirmware": True, "minimumTcb": "15352208179752599555",
            "reportIdMa": base64.b64encode(b"\xff" * 32).decode()}
    base.update(policy)
    return json.dumps({"policy": base, "rootOfTrust": {"checkCrl": True, "disallowNetwork": False,
                                                       "product": "Milan", "productLine": "Milan"},
                       "pcr_values": {"sha256": {"0": "00" * 32}}}).encode()


def test_legacy_cocos_policy_import():
    policy = SnpPolicy.from_legacy_json(_legacy(measurement=base64.b64encode(b"\x11" * 48).decode()))
    assert policy.minimum_tcb == TcbMinimum(bootloader=3, tee=0, snp=14, microcode=213)
    assert (policy.vmpl, policy.product, policy.minimum_version) == (2, Product.MILAN, (1, 55))
    assert not policy.debug_allowed and policy.smt_allowed and policy.require_crl
    assert policy.report_id_ma == b"\xff" * 32 and policy.measurements == (b"\x11" * 48,)
    report = parse_report(build_report(reported_tcb=MILAN_TCB, vmpl=2))
    assert _fails(report, policy) == {"policy.crl"}  # checkCrl: no CRL was checked here
    assert _fails(report, replace(policy, require_crl=False, vmpl=0)) == {"policy.vmpl"}


@pytest.mark.parametrize(("extra", "message"), [
    ({"mystery": 1}, "unknown keys \\['mystery'\\]"),
    ({"measurement": "not base64!"}, "base64"),
    ({"vmpl": "x"}, "'vmpl' must be an integer"),
    ({"product": {"name": 9}}, "unknown product number"),
])
def test_legacy_policy_rejections(extra, message):
    with pytest.raises(PolicyError, match=message):
        SnpPolicy.from_legacy_json(_legacy(**extra))


@pytest.mark.parametrize(("doc", "message"), [
    ({"policy": {"trusted_id_key_hashes": 5}}, "'trusted_id_key_hashes' must be a list"),
    ({"policy": {"trusted_id_key_hashes": [5]}}, "'trusted_id_key_hashes\\[0\\]' must be a base64 string"),
    ({"policy": {"trustedAuthorKeys": "abc"}}, "'trusted_author_keys' must be a list"),
    ({"policy": {"trusted_author_key_hashes": [base64.b64encode(b"x").decode()]}}, "must decode to 48 bytes"),
    ({"policy": {"require_author_key": "false"}}, "'require_author_key' must be true or false"),
    ({"policy": {"permit_provisional_firmware": 1}}, "'permit_provisional_firmware' must be true or false"),
    ({"policy": {"require_id_block": "yes"}}, "'require_id_block' must be true or false"),
    ({"policy": {"measurement": 7}}, "'measurement' must be a base64 string"),
    ({"policy": {"minimum_version": 1.55}}, "'minimum_version' must look like"),
    ({"policy": {"minimum_tcb": [1]}}, "'minimum_tcb' must be an integer"),
    ({"policy": {"minimum_tcb": 2 ** 64}}, "'minimum_tcb' is out of range"),
    ({"policy": {"minimum_build": 1.5}}, "'minimum_build' must be an integer"),
    ({"policy": {"minimum_guest_svn": 2 ** 32}}, "'minimum_guest_svn' is out of range"),
    ({"policy": {"vmpl": 4}}, "'vmpl' must be 0 to 3"),
    ({"policy": {"vmpl": True}}, "'vmpl' must be an integer"),
    ({"policy": {"platform_info": "0x25"}}, "'platform_info' must be an integer"),
    ({"policy": {"policy": -1}}, "'policy' is out of range"),
    ({"policy": {"product": 1}}, "'policy.product' in the legacy policy must be a JSON object"),
    ({"policy": {"product": {"name": [1]}}}, "'policy.product.name' must be an integer"),
    ({"policy": {"product": {"nickname": 1}}}, "unknown keys \\['nickname'\\] in 'policy.product'"),
    ({"policy": {"vmpl": 1, "Vmpl": 2}}, "'policy.vmpl' is given twice"),
    ({"policy": []}, "'policy' in the legacy policy must be a JSON object"),
    ({"root_of_trust": {"check_crl": "true"}}, "'root_of_trust.check_crl' must be true or false"),
    ({"root_of_trust": {"disallow_network": 0}}, "'root_of_trust.disallow_network' must be true or false"),
    ({"root_of_trust": {"cabundles": "pem"}}, "'root_of_trust.cabundles' must be a list of strings"),
    ({"root_of_trust": {"product_line": 1}}, "'root_of_trust.product_line' must be a string"),
    ({"root_of_trust": {"product": "Rome"}}, "unknown product 'Rome' in 'root_of_trust.product'"),
    ({"pcr_values": []}, "'pcr_values' must map bank names"),
    ({"pcr_values": {"md5": {}}}, "unknown PCR bank 'md5'"),
    ({"pcr_values": {"sha256": {"24": "00" * 32}}}, "indexes are \"0\" to \"23\""),
    ({"pcr_values": {"sha256": {"x": "00" * 32}}}, "has PCR index 'x'"),
    ({"pcr_values": {"sha256": {"0": "00" * 48}}}, "'pcr_values.sha256.0' must be 32 bytes"),
    ({"pcr_values": {"sha384": {"1": 5}}}, "'pcr_values.sha384.1' must be hex"),
    ({"pcr_values": {"sha256": ["00" * 32]}}, "'pcr_values.sha256' must map PCR indexes"),
    ({"pcr_values": {"sha256": {"7": "00" * 32, "07": "11" * 32}}}, "gives sha256 PCR 7 twice"),
    ([], "'top level' in the legacy policy must be a JSON object"),
])
def test_every_legacy_field_is_type_checked(doc, message):
    with pytest.raises(PolicyError, match=message) as info:
        SnpPolicy.from_legacy_json(json.dumps(doc).encode())
    assert info.value.code == "snp-policy"


def test_legacy_protobuf_json_forms():
    """null = not set, numbers as strings or whole floats, URL-safe base64, enum names."""
    measurement = base64.urlsafe_b64encode(b"\xfb" * 48).decode().rstrip("=")
    doc = {"policy": {"vmpl": None, "minimumGuestSvn": "3", "minimumBuild": 7.0, "measurement": measurement,
                      "hostData": "", "product": {"name": "SEV_PRODUCT_GENOA"}},
           "rootOfTrust": None}
    policy = SnpPolicy.from_legacy_json(json.dumps(doc).encode())
    assert policy.vmpl is None and policy.minimum_guest_svn == 3 and policy.minimum_build == 7
    assert policy.measurements == (b"\xfb" * 48,) and policy.host_data is None
    assert policy.product is Product.GENOA and not policy.require_crl


PCR0 = bytes(range(32))


def test_legacy_pcr_values_are_kept_as_reference_pcrs():
    doc = json.loads(_legacy())
    doc["pcr_values"] = {"sha384": {"9": "ab" * 48}, "sha256": {"4": "11" * 32, "0": PCR0.hex()}}
    policy = SnpPolicy.from_legacy_json(json.dumps(doc).encode())
    assert [(p.bank, p.index) for p in policy.reference_pcrs] == [(0x0B, 0), (0x0B, 4), (0x0C, 9)]
    assert policy.reference_pcr_map() == {0x0B: {0: PCR0, 4: b"\x11" * 32}, 0x0C: {9: b"\xab" * 48}}
    assert SnpPolicy.from_json(policy.to_json()) == policy
    assert json.loads(policy.to_json())["reference_pcrs"]["sha256"] == {"0": PCR0.hex(), "4": "11" * 32}


def test_reference_pcrs_are_reported_as_not_checked_never_silently(report):
    policy = replace(SnpPolicy.from_legacy_json(_legacy()), require_crl=False, vmpl=2)
    assert len(policy.reference_pcrs) == 1
    verdict = validate_snp(report, policy, Verdict("snp"))
    check = verdict.get("policy.pcr_values")
    assert check.status is Status.WARN and check.stage is Stage.VALIDATE
    assert "1 reference vTPM PCR value(s)" in check.explanation and "not checked" in check.explanation
    assert "enforced only on the vTPM path" in check.explanation
    assert check.expected == "sha256 PCR0"
    assert verdict.failures() == []  # a warning, not a failure: nothing here contradicts the policy
    no_pcrs = validate_snp(report, replace(policy, reference_pcrs=()), Verdict("snp"))
    assert no_pcrs.get("policy.pcr_values") is None


def test_policy_json_without_pcrs_omits_the_key(report):
    data = SnpPolicy.from_report(report).to_json()
    assert "reference_pcrs" not in json.loads(data)
    with pytest.raises(PolicyError, match="unknown PCR bank"):
        doc = json.loads(data)
        doc["reference_pcrs"] = {"sha3": {}}
        SnpPolicy.from_json(json.dumps(doc))
