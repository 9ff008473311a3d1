"""The hand-written attest.Attestation codec against protobuf's own runtime (built from §1.5's table)."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.attestation.vtpm.algorithms import TpmAlg
from core.attestation.vtpm.attestation import PcrBank, Quote, VtpmAttestation, decode_attestation, encode_attestation
from core.attestation.vtpm.errors import AttestationFormatError
from core.errors import EvidenceError

from .synth import make_evidence
from .test_structures import mutations

F = descriptor_pb2.FieldDescriptorProto
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _field(msg, name: str, number: int, kind: int, label: int = F.LABEL_OPTIONAL, type_name: str = "") -> None:
    f = msg.field.add(name=name, number=number, type=kind, label=label)
    if type_name:
        f.type_name = type_name


def _classes() -> dict[str, type]:
    """attest.Attestation, tpm.Quote and tpm.PCRs as ATTESTATION.md §1.5 lists them."""
    fd = descriptor_pb2.FileDescriptorProto(name="vtpm_test.proto", package="t", syntax="proto3")
    pcrs = fd.message_type.add(name="PCRs")
    _field(pcrs, "hash", 1, F.TYPE_UINT32)
    entry = pcrs.nested_type.add(name="PcrsEntry")
    entry.options.map_entry = True
    _field(entry, "key", 1, F.TYPE_UINT32)
    _field(entry, "value", 2, F.TYPE_BYTES)
    _field(pcrs, "pcrs", 2, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".t.PCRs.PcrsEntry")
    quote = fd.message_type.add(name="Quote")
    _field(quote, "quote", 1, F.TYPE_BYTES)
    _field(quote, "raw_sig", 2, F.TYPE_BYTES)
    _field(quote, "pcrs", 3, F.TYPE_MESSAGE, type_name=".t.PCRs")
    att = fd.message_type.add(name="Attestation")
    _field(att, "ak_pub", 1, F.TYPE_BYTES)
    _field(att, "quotes", 2, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".t.Quote")
    _field(att, "event_log", 3, F.TYPE_BYTES)
    _field(att, "canonical_event_log", 5, F.TYPE_BYTES)
    _field(att, "ak_cert", 6, F.TYPE_BYTES)
    _field(att, "sev_snp_attestation", 8, F.TYPE_BYTES)  # a message on the wire; bytes here keep it opaque
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"t.{n}"))
            for n in ("Attestation", "Quote", "PCRs")}


CLASSES = _classes()


def test_our_encoding_reads_back_in_the_protobuf_runtime() -> None:
    att = make_evidence().attestation
    att = VtpmAttestation(ak_pub=att.ak_pub, quotes=att.quotes, event_log=att.event_log,
                          sev_snp_attestation=b"\x0a\x02\x08\x05", ak_cert=b"cert")
    msg = CLASSES["Attestation"].FromString(encode_attestation(att))
    assert msg.ak_pub == att.ak_pub and msg.event_log == att.event_log and msg.ak_cert == b"cert"
    assert msg.sev_snp_attestation == b"\x0a\x02\x08\x05"
    assert [q.pcrs.hash for q in msg.quotes] == [TpmAlg.SHA256, TpmAlg.SHA384]
    assert dict(msg.quotes[0].pcrs.pcrs) == att.quotes[0].pcrs.as_dict()
    assert msg.quotes[1].raw_sig == att.quotes[1].raw_sig


def test_protobuf_runtime_encoding_decodes() -> None:
    msg = CLASSES["Attestation"](ak_pub=b"ak", event_log=b"log", canonical_event_log=b"ignored")
    q = msg.quotes.add(quote=b"q", raw_sig=b"s")
    q.pcrs.hash = TpmAlg.SHA256
    q.pcrs.pcrs[0] = b"\x00" * 32   # key 0 is written explicitly inside map entries
    q.pcrs.pcrs[16] = b"\x10" * 32
    att = decode_attestation(msg.SerializeToString())
    assert att.ak_pub == b"ak" and att.event_log == b"log" and att.sev_snp_attestation is None
    assert att.quotes == (Quote(b"q", b"s", PcrBank.of(TpmAlg.SHA256, {0: b"\x00" * 32, 16: b"\x10" * 32})),)


def test_decode_rejections() -> None:
    with pytest.raises(AttestationFormatError, match="truncated"):
        decode_attestation(b"\x0a\x05ab")
    with pytest.raises(AttestationFormatError, match="empty"):
        decode_attestation(b"")
    with pytest.raises(AttestationFormatError, match="should hold bytes"):
        decode_attestation(b"\x08\x01")  # ak_pub as a varint
    with pytest.raises(AttestationFormatError, match="wire type 3") as info:
        decode_attestation(b"\x0b")
    assert info.value.code == "vtpm-attestation"
    big_pcr = CLASSES["Attestation"](ak_pub=b"a")
    big_pcr.quotes.add().pcrs.pcrs[99] = b"x"
    with pytest.raises(AttestationFormatError, match="PCR 99"):
        decode_attestation(big_pcr.SerializeToString())


SEED = encode_attestation(make_evidence().attestation)[:4000]


@FUZZ
@given(st.one_of(mutations(SEED[:600]), st.binary(max_size=200)))
def test_fuzz_decode(data: bytes) -> None:
    try:
        att = decode_attestation(data)
    except AttestationFormatError as exc:
        assert isinstance(exc, EvidenceError) and str(exc)
        return
    assert isinstance(att, VtpmAttestation)
