"""verify_vtpm on synthetic SNP-vTPM evidence: good evidence passes, each tampering fails its own check."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from core.attestation.verdict import Stage, Status, Verdict
from core.attestation.vtpm.algorithms import TpmAlg
from core.attestation.vtpm.attestation import PcrBank, Quote, encode_attestation
from core.attestation.vtpm.checks import VTPM_CHECKS
from core.attestation.vtpm.eventlog import EventSpec, build_event_log
from core.attestation.vtpm.public import AK_ATTRIBUTES, RESTRICTED
from core.attestation.vtpm.structures import build_rsa_public, build_signature
from core.attestation.vtpm.verify import report_data_for, tee_nonce64, verify_vtpm
from core.cocos.manifest import expected_pcr16
from core.errors import BadInput

from . import synth
from .synth import BANKS, NONCE, Evidence, computation, make_evidence, make_quote, pcr_values

ALL_IDS = [i for i in VTPM_CHECKS if i != "vtpm.evidence.parse"]


def run(ev: Evidence, **kw: object) -> Verdict:
    args: dict[str, object] = dict(expected_nonce=ev.nonce, binding_hash=ev.binding_prefix, computation=ev.manifest)
    args.update(kw)
    return verify_vtpm(ev.attestation, **args)  # type: ignore[arg-type]


def status(verdict: Verdict, check_id: str) -> Status:
    check = verdict.get(check_id)
    assert check is not None, f"{check_id} missing from {[c.id for c in verdict.checks]}"
    return check.status


def failed_ids(verdict: Verdict) -> set[str]:
    return {c.id for c in verdict.failures()}


def with_quote(ev: Evidence, index: int, quote: Quote) -> Evidence:
    quotes = list(ev.attestation.quotes)
    quotes[index] = quote
    return dataclasses.replace(ev, attestation=dataclasses.replace(ev.attestation, quotes=tuple(quotes)))


@pytest.fixture(scope="module")
def good() -> Evidence:
    return make_evidence()


def test_good_evidence_passes_every_check(good: Evidence) -> None:
    verdict = run(good)
    assert [c.id for c in verdict.checks] == ALL_IDS
    assert all(c.status is Status.PASS for c in verdict.checks if c.id != "vtpm.pcr.boot")
    assert status(verdict, "vtpm.pcr.boot") is Status.SKIP  # informational: no reference values
    assert verdict.authentic and verdict.acceptable
    assert verdict.get("vtpm.pcr16.manifest").stage is Stage.VALIDATE
    assert verdict.platform == "snp-vtpm"


def test_pcr16_matches_the_manifest_helper(good: Evidence) -> None:
    expected = expected_pcr16(good.manifest)
    assert good.attestation.bank(TpmAlg.SHA256).get(16) == expected["sha256"]
    assert good.attestation.bank(TpmAlg.SHA384).get(16) == expected["sha384"]


def test_protobuf_bytes_verify_like_the_object(good: Evidence) -> None:
    verdict = run(good)
    raw = encode_attestation(good.attestation)  # the SNP report travels separately (field 8 is a proto)
    from_bytes = verify_vtpm(raw, expected_nonce=good.nonce, binding_hash=good.binding_prefix,
                             computation=good.manifest, snp_report=good.attestation.snp_report)
    assert status(from_bytes, "vtpm.evidence.parse") is Status.PASS
    assert [(c.id, c.status) for c in from_bytes.checks[1:]] == [(c.id, c.status) for c in verdict.checks]


def test_garbage_bytes_fail_parse_without_raising() -> None:
    verdict = verify_vtpm(b"\x0a\xff\xff", expected_nonce=NONCE)
    assert failed_ids(verdict) == {"vtpm.evidence.parse"}
    assert "truncated" in verdict.get("vtpm.evidence.parse").explanation


def test_wrong_nonce_fails_nonce_only(good: Evidence) -> None:
    verdict = run(good, expected_nonce=hashlib.sha256(b"another session").digest())
    assert failed_ids(verdict) == {"vtpm.quote.nonce"}
    assert "replay" in verdict.get("vtpm.quote.nonce").explanation


def test_ak_not_bound_by_report() -> None:
    other_ak = build_rsa_public(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    verdict = run(make_evidence(report_ak_pub=other_ak))
    assert failed_ids(verdict) == {"vtpm.ak.binding"}


def test_binding_for_another_session(good: Evidence) -> None:
    verdict = run(good, binding_hash=hashlib.sha512(b"other session").digest())
    assert failed_ids(verdict) == {"vtpm.ak.binding"}


def test_tee_nonce_variant_binds() -> None:
    prefix = tee_nonce64(b"\x07" * 32)
    ev = make_evidence(binding_prefix=prefix)
    assert status(run(ev), "vtpm.ak.binding") is Status.PASS
    assert prefix[32:] == bytes(32)


def test_missing_report_or_binding_fails_binding(good: Evidence) -> None:
    no_report = make_evidence(with_report=False)
    assert failed_ids(run(no_report)) == {"vtpm.ak.binding"}
    assert failed_ids(run(good, binding_hash=None)) == {"vtpm.ak.binding"}
    assert failed_ids(run(good, snp_report=b"short")) == {"vtpm.ak.binding"}


def test_binding_hash_of_wrong_size_is_a_caller_error(good: Evidence) -> None:
    with pytest.raises(BadInput, match="64 bytes"):
        run(good, binding_hash=b"\x00" * 32)


def test_flipped_quote_byte_fails_signature(good: Evidence) -> None:
    q = good.attestation.quotes[0]
    flipped = bytearray(q.quote)
    flipped[-1] ^= 1  # last byte of pcrDigest
    verdict = run(with_quote(good, 0, dataclasses.replace(q, quote=bytes(flipped))))
    assert "vtpm.quote.signature" in failed_ids(verdict)
    assert "quote 1 (sha256 bank)" in verdict.get("vtpm.quote.signature").actual
    assert not verdict.authentic


def test_wrong_pcr_value_fails_digest(good: Evidence) -> None:
    q = good.attestation.quotes[0]
    values = q.pcrs.as_dict()
    values[4] = bytes(32)
    verdict = run(with_quote(good, 0, dataclasses.replace(q, pcrs=PcrBank.of(q.pcrs.hash_alg, values))))
    assert failed_ids(verdict) >= {"vtpm.pcr.digest"}
    assert "vtpm.quote.signature" not in failed_ids(verdict)
    # The replay still compares the claimed value, which the log does not explain either.
    assert failed_ids(verdict) <= {"vtpm.pcr.digest", "vtpm.eventlog.replay"}


def test_missing_pcr_fails_selection(good: Evidence) -> None:
    q = good.attestation.quotes[1]
    values = q.pcrs.as_dict()
    del values[23]
    verdict = run(with_quote(good, 1, dataclasses.replace(q, pcrs=PcrBank.of(q.pcrs.hash_alg, values))))
    assert {"vtpm.pcr.selection", "vtpm.pcr.digest"} <= failed_ids(verdict)
    assert "quote 2 (sha384 bank)" in verdict.get("vtpm.pcr.selection").actual


def test_selection_of_another_bank_fails(good: Evidence) -> None:
    values = pcr_values(synth.event_log(), good.manifest)[TpmAlg.SHA256]
    quote = make_quote(TpmAlg.SHA256, values, selection=((TpmAlg.SHA1, range(24)),))
    verdict = run(with_quote(good, 0, quote))
    assert failed_ids(verdict) == {"vtpm.pcr.selection"}


def test_duplicate_bank_fails_selection(good: Evidence) -> None:
    first = good.attestation.quotes[0]
    verdict = run(with_quote(good, 1, first))
    assert "another quote already reported the sha256 bank" in verdict.get("vtpm.pcr.selection").actual


def test_event_log_that_does_not_replay(good: Evidence) -> None:
    events = synth.boot_events()
    events[2] = EventSpec(4, 0x80000003, b"a different shim")
    log = build_event_log(events, banks=(TpmAlg.SHA1, *BANKS), startup_locality=3)
    verdict = run(make_evidence(log=log))
    assert failed_ids(verdict) == {"vtpm.eventlog.replay"}
    assert "PCR4" in verdict.get("vtpm.eventlog.replay").actual


def test_event_log_without_locality_event_does_not_replay_pcr0() -> None:
    verdict = run(make_evidence(log=synth.event_log(startup_locality=None)))
    assert failed_ids(verdict) == {"vtpm.eventlog.replay"}
    assert "PCR0" in verdict.get("vtpm.eventlog.replay").actual


def test_unreadable_event_log_fails_and_empty_log_skips(good: Evidence) -> None:
    bad = run(make_evidence(log=synth.event_log()[:-3]))
    assert failed_ids(bad) == {"vtpm.eventlog.replay"}
    assert "truncated" in bad.get("vtpm.eventlog.replay").explanation
    empty = run(dataclasses.replace(good, attestation=dataclasses.replace(good.attestation, event_log=b"")))
    assert status(empty, "vtpm.eventlog.replay") is Status.SKIP
    assert empty.acceptable


def test_pcr16_for_a_different_manifest(good: Evidence) -> None:
    verdict = run(good, computation=computation(name="someone else's"))
    assert failed_ids(verdict) == {"vtpm.pcr16.manifest"}
    assert verdict.authentic and not verdict.acceptable


def test_pcr16_still_zero_is_explained() -> None:
    ev = make_evidence()
    values = pcr_values(synth.event_log(), None)
    quotes = tuple(make_quote(alg, values[alg]) for alg in BANKS)
    ev = dataclasses.replace(ev, attestation=dataclasses.replace(ev.attestation, quotes=quotes))
    verdict = run(ev)
    assert failed_ids(verdict) == {"vtpm.pcr16.manifest"}
    assert "not received a manifest" in verdict.get("vtpm.pcr16.manifest").explanation


def test_pcr16_skipped_without_computation(good: Evidence) -> None:
    verdict = run(good, computation=None)
    assert status(verdict, "vtpm.pcr16.manifest") is Status.SKIP


def test_pcr16_not_quoted_fails(good: Evidence) -> None:
    quotes = []
    for q in good.attestation.quotes:
        values = {i: v for i, v in q.pcrs.values if i != 16}
        quotes.append(make_quote(q.pcrs.hash_alg, values))
    ev = dataclasses.replace(good, attestation=dataclasses.replace(good.attestation, quotes=tuple(quotes)))
    assert failed_ids(run(ev)) == {"vtpm.pcr16.manifest"}


def test_pcr16_from_a_forged_quote_is_not_trusted(good: Evidence) -> None:
    q = good.attestation.quotes[0]
    forged = dataclasses.replace(q, raw_sig=build_signature(TpmAlg.RSASSA, TpmAlg.SHA256, signature=b"\x01" * 256))
    verdict = run(with_quote(good, 0, forged))
    assert "vtpm.quote.signature" in failed_ids(verdict)
    assert "sha384" in verdict.get("vtpm.pcr16.manifest").explanation  # only the verified bank counted


def test_unrestricted_ak_fails_parse() -> None:
    ak_pub = build_rsa_public(synth.ak_key().public_key(), attributes=AK_ATTRIBUTES & ~RESTRICTED)
    verdict = run(make_evidence(ak_pub=ak_pub))
    assert "vtpm.ak.parse" in failed_ids(verdict)
    assert "forge" in verdict.get("vtpm.ak.parse").explanation
    assert status(verdict, "vtpm.quote.signature") is Status.SKIP


def test_garbage_ak_fails_parse() -> None:
    verdict = run(make_evidence(ak_pub=b"\x00\x01\x00"))
    assert "vtpm.ak.parse" in failed_ids(verdict)
    assert "truncated" in verdict.get("vtpm.ak.parse").explanation


def test_quote_signed_with_rsapss_is_refused(good: Evidence) -> None:
    q = good.attestation.quotes[0]
    sig = build_signature(TpmAlg.RSAPSS, TpmAlg.SHA256, signature=b"\x00" * 256)
    verdict = run(with_quote(good, 0, dataclasses.replace(q, raw_sig=sig)))
    assert "not RSASSA/SHA-256" in verdict.get("vtpm.quote.signature").actual


def test_bad_magic_fails_magic_only(good: Evidence) -> None:
    values = good.attestation.quotes[0].pcrs.as_dict()
    verdict = run(with_quote(good, 0, make_quote(TpmAlg.SHA256, values, magic=0x12345678)))
    assert failed_ids(verdict) == {"vtpm.quote.magic"}
    assert "magic 0x12345678" in verdict.get("vtpm.quote.magic").actual


def test_unreadable_quote_fails_magic_and_skips_the_rest(good: Evidence) -> None:
    q = good.attestation.quotes[0]
    short = q.quote[:20]
    verdict = run(with_quote(good, 0, Quote(short, synth.sign(short), q.pcrs)))
    assert status(verdict, "vtpm.quote.magic") is Status.FAIL
    assert status(verdict, "vtpm.quote.signature") is Status.PASS  # the TPM key did sign those bytes


def test_no_quotes_fail(good: Evidence) -> None:
    ev = dataclasses.replace(good, attestation=dataclasses.replace(good.attestation, quotes=()))
    verdict = run(ev)
    assert {"vtpm.quote.signature", "vtpm.pcr.digest", "vtpm.pcr16.manifest"} <= failed_ids(verdict)


def test_boot_pcr_reference_values(good: Evidence) -> None:
    bank = good.attestation.bank(TpmAlg.SHA256)
    right = {TpmAlg.SHA256: {i: bank.get(i) for i in range(10)}}
    assert status(run(good, reference_pcrs=right), "vtpm.pcr.boot") is Status.PASS
    wrong = {TpmAlg.SHA256: {4: bytes(32)}}
    verdict = run(good, reference_pcrs=wrong)
    assert failed_ids(verdict) == {"vtpm.pcr.boot"}
    assert "PCR4" in verdict.get("vtpm.pcr.boot").actual


def test_report_data_vector_from_the_protocol_spec() -> None:
    # COCOS-PROTOCOL §12.5: SNP-vTPM REPORT_DATA with dummy AK_pub = 01 x 8
    binding = bytes.fromhex("1088639476a234dd6ca41596053c4645a20b7077770ba8c7312b988e3b3f2316")
    value = report_data_for(hashlib.sha512(binding).digest(), b"\x01" * 8)
    assert value.hex() == ("a4af46b70838015cb68ba73e0f87257a345943d793437ab4809a06d019628198"
                           "da4ead4469f3f5f4c4bfa784396d721f1afc2be155262d1edad5ab2411d5fb7d")


def test_pcr_values_under_a_wrong_selection_are_not_trusted(good: Evidence) -> None:
    values = good.attestation.quotes[0].pcrs.as_dict()
    shifted = make_quote(TpmAlg.SHA256, values, selection=((TpmAlg.SHA256, range(1, 25)),))
    verdict = run(with_quote(good, 0, shifted))
    assert failed_ids(verdict) == {"vtpm.pcr.selection"}
    pcr16 = verdict.get("vtpm.pcr16.manifest")
    assert pcr16.status is Status.PASS and "(sha384)" in pcr16.explanation


def test_snp_part_still_in_protobuf_form_is_explained(good: Evidence) -> None:
    att = dataclasses.replace(good.attestation, snp_report=None, sev_snp_attestation=b"\x0a\x00")
    verdict = run(dataclasses.replace(good, attestation=att))
    assert failed_ids(verdict) == {"vtpm.ak.binding"}
    assert "rebuild" in verdict.get("vtpm.ak.binding").explanation
