"""CoRIM attestation policies (ATTESTATION.md §1.6): decode, policies, export, COSE_Sign1, fuzz."""

from __future__ import annotations

import uuid
from dataclasses import replace

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from core.attestation.corim import (
    CorimError, corim_from_snp_policy, corim_from_tdx_policy, decode_corim, is_corim, product_instance,
    snp_policy_from_corim, tdx_policy_from_corim, verify_corim_signature,
)
from core.attestation.snp.policy import SnpPolicy
from core.attestation.tdx.policy import TdxPolicy
from core.errors import EvidenceError, Refused

MEASUREMENT = bytes.fromhex("ab" * 48)
TDX_VALUES = [bytes([i]) * 48 for i in range(1, 7)]  # MRTD, MRSEAM, RTMR0..3


def _t37(u: uuid.UUID) -> cbor2.CBORTag:
    return cbor2.CBORTag(37, u.bytes)


def hand_corim(digests: list[bytes], *, platform: str = "snp", product: str | None = "EPYC",
               svn: int | None = None, tagged_501: bool = False) -> bytes:
    """A CoRIM written out field by field from §1.6, independent of the exporter."""
    env: dict = {0: {0: _t37(uuid.uuid4())}}
    if product:
        env[1] = _t37(uuid.uuid5(uuid.NAMESPACE_OID, product))
    measurements = []
    for digest in digests:
        mval: dict = {2: [[1, digest]]}
        if svn:
            mval[1] = cbor2.CBORTag(552, svn)
        measurements.append({0: _t37(uuid.uuid4()), 1: mval})
    comid = {1: {0: f"{platform}-tag-{uuid.uuid4()}", 1: 0}, 4: {0: [[env, measurements]]}}
    unsigned = {0: f"{platform}-corim-{uuid.uuid4()}", 1: [bytes.fromhex("d901fa") + cbor2.dumps(comid)]}
    return cbor2.dumps(cbor2.CBORTag(501, unsigned) if tagged_501 else unsigned)


def hand_sign(payload: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """COSE_Sign1 (RFC 9052) over ``payload`` with ES256, built by hand."""
    protected = cbor2.dumps({1: -7, 3: "application/rim+cbor", 8: cbor2.dumps({0: {0: "manager"}})})
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    r, s = decode_dss_signature(key.sign(to_sign, ec.ECDSA(hashes.SHA256())))
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, r.to_bytes(32, "big") + s.to_bytes(32, "big")]))


# --- decoding ------------------------------------------------------------------------------------

def test_hand_built_snp_corim_decodes() -> None:
    values = decode_corim(hand_corim([MEASUREMENT], svn=3))
    assert values.platform == "snp"
    assert values.product_name == "EPYC"
    assert values.instance_uuid == uuid.UUID("2c476276-0d1c-59f3-8d79-693ec3752677")
    assert values.measurements == (MEASUREMENT,)
    assert values.svn == 3
    assert values.corim_id.startswith("snp-corim-") and values.tag_ids[0].startswith("snp-tag-")
    assert values.signed is False and values.signature_valid is None
    assert values.entries[0].digests == ((1, MEASUREMENT),)


def test_tag_501_wrapped_and_unknown_product_decode() -> None:
    values = decode_corim(hand_corim([MEASUREMENT], product="some-cpu-model", tagged_501=True))
    assert values.product_name is None
    assert values.instance_uuid == uuid.uuid5(uuid.NAMESPACE_OID, "some-cpu-model")
    assert decode_corim(hand_corim([MEASUREMENT], product=None)).instance_uuid is None


def test_uuidv5_examples_from_the_spec() -> None:
    assert str(product_instance("Milan")) == "1e73b153-b2c2-5f83-950c-a04adab2cb0f"
    assert str(product_instance("EPYC")) == "2c476276-0d1c-59f3-8d79-693ec3752677"
    assert decode_corim(hand_corim([MEASUREMENT], product="Milan")).product_name == "Milan"


def test_platform_from_ids_and_from_shape() -> None:
    assert decode_corim(hand_corim(TDX_VALUES, platform="tdx", product=None)).platform == "tdx"
    # ids that name no platform: one digest reads as SNP, several as TDX
    assert decode_corim(hand_corim([MEASUREMENT], platform="x")).platform == "snp"
    assert decode_corim(hand_corim(TDX_VALUES, platform="x")).platform == "tdx"


# --- COSE_Sign1 ----------------------------------------------------------------------------------

def test_signed_corim_reports_whether_a_key_verifies_it() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signed = hand_sign(hand_corim([MEASUREMENT]), key)
    assert is_corim(signed)
    assert decode_corim(signed).signed is True
    assert decode_corim(signed).signature_valid is None
    assert decode_corim(signed, key=key.public_key()).signature_valid is True
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert decode_corim(signed, key=other).signature_valid is False
    assert verify_corim_signature(signed, key.public_key()) is True
    assert verify_corim_signature(signed, other) is False
    assert verify_corim_signature(hand_corim([MEASUREMENT]), key.public_key()) is False  # unsigned


def test_tampered_signed_payload_fails_verification_but_still_decodes() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signed = hand_sign(hand_corim([MEASUREMENT]), key)
    tampered = signed.replace(MEASUREMENT, bytes(48))
    values = decode_corim(tampered, key=key.public_key())
    assert values.measurements == (bytes(48),) and values.signature_valid is False


def test_exporter_signs_like_cocos() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signed = corim_from_snp_policy(SnpPolicy(measurements=(MEASUREMENT,)), signing_key=key, signer_name="ops")
    top = cbor2.loads(signed)
    assert top.tag == 18
    protected = cbor2.loads(top.value[0])
    assert protected[1] == -7 and protected[3] == "application/rim+cbor"
    assert cbor2.loads(protected[8]) == {0: {0: "ops"}}
    assert decode_corim(signed, key=key.public_key()).signature_valid is True


def test_wrong_content_type_is_refused() -> None:
    protected = cbor2.dumps({1: -7, 3: "application/json"})
    data = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, hand_corim([MEASUREMENT]), bytes(64)]))
    with pytest.raises(CorimError, match="content type"):
        decode_corim(data)


# --- policies ------------------------------------------------------------------------------------

def test_snp_policy_from_corim_keeps_the_base_policy() -> None:
    base = SnpPolicy(vmpl=2, minimum_guest_svn=1)
    policy = snp_policy_from_corim(hand_corim([MEASUREMENT]), base)
    assert policy.measurements == (MEASUREMENT,)
    assert policy.vmpl == 2 and policy.minimum_guest_svn == 1
    assert snp_policy_from_corim(hand_corim([MEASUREMENT], svn=5), base).minimum_guest_svn == 5


def test_tdx_policy_from_corim_uses_cocos_order() -> None:
    policy = tdx_policy_from_corim(hand_corim(TDX_VALUES, platform="tdx", product=None),
                                   TdxPolicy(accepted_tcb_statuses=("UpToDate", "SWHardeningNeeded")))
    assert policy.mr_td == TDX_VALUES[0] and policy.mr_seam == TDX_VALUES[1]
    assert policy.rtmrs == tuple(TDX_VALUES[2:])
    assert policy.accepted_tcb_statuses == ("UpToDate", "SWHardeningNeeded")
    partial = tdx_policy_from_corim(hand_corim(TDX_VALUES[:3], platform="tdx"), TdxPolicy(rtmrs=(None, b"\x09" * 48, None, None)))
    assert partial.rtmrs == (TDX_VALUES[2], b"\x09" * 48, None, None)


def test_platform_mismatch_and_bad_sizes_are_typed_errors() -> None:
    with pytest.raises(CorimError, match="holds TDX reference values"):
        snp_policy_from_corim(hand_corim(TDX_VALUES, platform="tdx"))
    with pytest.raises(CorimError, match="holds SNP reference values"):
        tdx_policy_from_corim(hand_corim([MEASUREMENT]))
    with pytest.raises(CorimError, match="is 32 bytes"):
        snp_policy_from_corim(hand_corim([bytes(32)]))
    with pytest.raises(CorimError, match="at most 6"):
        tdx_policy_from_corim(hand_corim(TDX_VALUES + [bytes(48)], platform="tdx"))


# --- export --------------------------------------------------------------------------------------

def test_snp_export_has_the_cocos_structure_and_round_trips() -> None:
    data = corim_from_snp_policy(SnpPolicy(measurements=(MEASUREMENT,)))
    top = cbor2.loads(data)
    assert set(top) == {0, 1} and top[0].startswith("snp-corim-")
    tag = top[1][0]
    assert tag[:3] == bytes.fromhex("d901fa")
    comid = cbor2.loads(tag[3:])
    assert comid[1][0].startswith("snp-tag-")
    env, measurements = comid[4][0][0]
    assert isinstance(env[0][0], uuid.UUID) and env[1] == product_instance("EPYC")
    assert measurements[0][1] == {2: [[1, MEASUREMENT]]}
    assert snp_policy_from_corim(data).measurements == (MEASUREMENT,)
    # random UUIDs: two exports of the same policy differ, yet mean the same thing
    again = corim_from_snp_policy(SnpPolicy(measurements=(MEASUREMENT,)))
    assert again != data and decode_corim(again).measurements == decode_corim(data).measurements


def test_snp_export_defaults_like_cocos() -> None:
    values = decode_corim(corim_from_snp_policy(SnpPolicy(), product_name="Milan", svn=2))
    assert values.measurements == (bytes(48),) and values.placeholder
    assert values.product_name == "Milan" and values.svn == 2
    several = SnpPolicy(measurements=(MEASUREMENT, bytes(range(48))))
    assert snp_policy_from_corim(corim_from_snp_policy(several)).measurements == several.measurements


def test_tdx_export_round_trips_and_refuses_gaps() -> None:
    policy = TdxPolicy(mr_td=TDX_VALUES[0], mr_seam=TDX_VALUES[1], rtmrs=tuple(TDX_VALUES[2:]))
    data = corim_from_tdx_policy(policy)
    assert decode_corim(data).platform == "tdx" and decode_corim(data).instance_uuid is None
    back = tdx_policy_from_corim(data)
    assert (back.mr_td, back.mr_seam, back.rtmrs) == (policy.mr_td, policy.mr_seam, policy.rtmrs)
    assert decode_corim(corim_from_tdx_policy(replace(policy, rtmrs=(None,) * 4))).measurements == tuple(TDX_VALUES[:2])
    with pytest.raises(Refused) as info:
        corim_from_tdx_policy(replace(policy, mr_seam=None))
    assert info.value.code == "corim-gap"
    with pytest.raises(Refused) as info:
        corim_from_tdx_policy(TdxPolicy())
    assert info.value.code == "corim-no-mrtd"


# --- malformed input -----------------------------------------------------------------------------

@pytest.mark.parametrize("data, reason", [
    (b"", "not valid CBOR"),
    (cbor2.dumps({0: "x", 1: []}) + b"\x00", "stray bytes"),
    (cbor2.dumps([1, 2]), "not a map"),
    (cbor2.dumps({1: [b"\xd9\x01\xfa\xa0"]}), "CoRIM id"),
    (cbor2.dumps({0: "snp-corim-1", 1: [b"\xa0"]}), "not a CoMID"),
    (cbor2.dumps({0: "snp-corim-1", 1: [b"\xd9\x01\xfa" + cbor2.dumps({1: {0: "t"}, 4: {0: [[{}, [{1: {2: "x"}}]]]}})]}),
     "no digests"),
    (cbor2.dumps({0: "snp-corim-1", 1: [b"\xd9\x01\xfa" + cbor2.dumps({1: {0: "t"}, 4: {0: []}})]}),
     "no reference measurements"),
    (cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"\x01"])), "4-element"),
])
def test_malformed_corims_are_evidence_errors(data: bytes, reason: str) -> None:
    with pytest.raises(CorimError, match=reason) as info:
        decode_corim(data)
    assert isinstance(info.value, EvidenceError)
    assert is_corim(data) is (reason in ("no digests", "no reference measurements"))


def test_is_corim_tells_policy_files_apart() -> None:
    assert is_corim(hand_corim([MEASUREMENT]))
    assert is_corim(corim_from_tdx_policy(TdxPolicy(mr_td=TDX_VALUES[0])))
    assert not is_corim(b'{"policy": {"measurement": "q83v"}}')  # a legacy JSON policy
    assert not is_corim(b"")


_cbor_leaf = st.one_of(st.integers(-2**70, 2**70), st.binary(max_size=60), st.text(max_size=20), st.none(),
                       st.booleans(), st.floats(allow_nan=False))
_cbor = st.recursive(_cbor_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.integers(0, 4), inner, max_size=4),
    st.builds(cbor2.CBORTag, st.sampled_from([18, 37, 501, 506, 552, 0, 1, 2]), inner)), max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    try:
        decode_corim(data)
    except CorimError:
        pass
    assert is_corim(data) in (True, False)


@settings(max_examples=300, deadline=None)
@given(_cbor)
def test_fuzz_random_cbor_trees(tree: object) -> None:
    try:
        data = cbor2.dumps(tree)
    except (cbor2.CBOREncodeError, ValueError, TypeError):
        return
    for candidate in (data, cbor2.dumps({0: "snp-corim-x", 1: [b"\xd9\x01\xfa" + data]})):
        try:
            decode_corim(candidate)
        except CorimError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_valid_corims(data: st.DataObject) -> None:
    raw = bytearray(hand_corim(TDX_VALUES, platform="tdx"))
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        values = decode_corim(bytes(raw[: data.draw(st.integers(0, len(raw)))]))
    except CorimError:
        return
    assert values.measurements
