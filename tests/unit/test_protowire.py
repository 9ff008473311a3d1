"""core.protowire: the bounded protobuf reader/writer, against protobuf's own runtime and fuzzed."""

from __future__ import annotations

import re

import pytest
from google.protobuf import wrappers_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from core.attestation.eat_proto import ProtobufError
from core.attestation.vtpm.errors import AttestationFormatError
from core.attestation.vtpm.wire import fields as vtpm_fields
from core.attestation.vtpm.wire import want_int
from core.errors import EvidenceError
from core.protowire import (
    FIXED32, FIXED64, LEN, VARINT, ProtobufWireError, WireField, all_bytes, bytes_field, collect, encode_varint,
    expect_bytes, expect_int, iter_fields, last_bytes, last_int, read_varint, varint_field,
)

UINT64 = (1 << 64) - 1


class CustomError(EvidenceError):
    code = "custom-wire"


# --- reading: exact outcomes ---------------------------------------------------------------------

def test_reads_every_wire_type_in_order():
    data = (b"\x08\x96\x01"                    # 1: varint 150
            + b"\x11" + (7).to_bytes(8, "little")  # 2: fixed64 7
            + b"\x1a\x03abc"                   # 3: bytes "abc"
            + b"\x25" + (9).to_bytes(4, "little")  # 4: fixed32 9
            + b"\x08\x01")                     # 1 again: last one wins
    got = list(iter_fields(data))
    assert got == [WireField(1, VARINT, 150), WireField(2, FIXED64, 7), WireField(3, LEN, b"abc"),
                   WireField(4, FIXED32, 9), WireField(1, VARINT, 1)]
    grouped = collect(data, "test message")
    assert last_int(grouped, 1, "test message") == 1
    assert last_int(grouped, 2, "test message") == 7
    assert last_bytes(grouped, 3, "test message") == b"abc"
    assert last_int(grouped, 99, "test message") == 0 and last_bytes(grouped, 99, "test message") == b""
    assert all_bytes(collect(b"\x12\x01a\x12\x00\x12\x01b"), 2, "m") == [b"a", b"", b"b"]


def test_a_field_is_a_tuple_too():
    number, wire_type, value = WireField(5, LEN, b"x")
    assert (number, wire_type, value) == (5, LEN, b"x")


def test_ten_byte_varint_is_read_modulo_2_64():
    assert read_varint(b"\xff" * 9 + b"\x7f", 0) == (UINT64, 10)
    assert read_varint(b"\x00\x80\x01", 1) == (128, 3)


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x08", "ends inside a number (byte 1 of 1); the evidence is truncated"),
    (b"\x08" + b"\x80" * 10 + b"\x01", "number longer than 10 bytes"),
    (b"\x00\x01", "field number 0"),
    (b"\x0b", "wire type 3"),
    (b"\x0c", "wire type 4"),
    (b"\x0e", "wire type 6"),
    (b"\x0f", "wire type 7"),
    (b"\x0a\x05ab", "field 1 of the test message claims 5 bytes but only 2 remain"),
    (b"\x09\x01\x02", "ends inside field 1"),
    (b"\x0d\x01", "ends inside field 1"),
])
def test_malformations_are_one_typed_error_with_the_reason(data, reason):
    with pytest.raises(ProtobufWireError, match=re.escape(reason)) as info:
        list(iter_fields(data, "test message"))
    assert info.value.code == "bad-protobuf"
    assert isinstance(info.value, EvidenceError)


def test_kind_mismatches_name_the_field():
    with pytest.raises(ProtobufWireError, match="field 3 of the m should hold bytes but holds a number"):
        expect_bytes(WireField(3, VARINT, 1), "m")
    with pytest.raises(ProtobufWireError, match="field 3 of the m should hold a number but holds bytes"):
        expect_int(WireField(3, LEN, b""), "m")
    assert expect_int(WireField(3, FIXED32, 4), "m") == 4
    with pytest.raises(ProtobufWireError, match="should hold a varint but holds a fixed-size number"):
        expect_int(WireField(3, FIXED32, 4), "m", varint_only=True)
    with pytest.raises(ProtobufWireError, match="should hold bytes"):
        last_bytes(collect(b"\x08\x01"), 1, "m")
    with pytest.raises(ProtobufWireError, match="should hold a number"):
        last_int(collect(b"\x0a\x00"), 1, "m")
    with pytest.raises(ProtobufWireError, match="should hold bytes"):
        all_bytes(collect(b"\x0a\x00\x08\x01"), 1, "m")


def test_each_caller_keeps_its_own_error_and_code():
    with pytest.raises(CustomError) as custom:
        list(iter_fields(b"\x0b", error=CustomError))
    assert custom.value.code == "custom-wire"
    with pytest.raises(AttestationFormatError) as vtpm:
        list(vtpm_fields(b"\x0a\x05ab", "vTPM attestation"))
    assert vtpm.value.code == "vtpm-attestation" and "truncated" in str(vtpm.value)
    with pytest.raises(AttestationFormatError, match="should hold a varint"):
        want_int(1, FIXED64, 5, "PCR entry")
    assert ProtobufError is ProtobufWireError and ProtobufError.code == "bad-protobuf"


# --- writing ---------------------------------------------------------------------------------------

def test_proto3_omits_defaults_unless_asked():
    assert varint_field(1, 0) == b"" and bytes_field(1, b"") == b""
    assert varint_field(1, 0, keep_zero=True) == b"\x08\x00"
    assert bytes_field(1, b"", keep_empty=True) == b"\x0a\x00"
    assert bytes_field(2, b"hi") == b"\x12\x02hi"
    assert varint_field(1, 300) == b"\x08\xac\x02"


def test_writer_refuses_what_protobuf_cannot_hold():
    with pytest.raises(ValueError, match="64-bit"):
        encode_varint(1 << 64)
    with pytest.raises(ValueError, match="64-bit"):
        encode_varint(-(1 << 63) - 1)
    with pytest.raises(ValueError, match="field number"):
        varint_field(0, 1)
    with pytest.raises(ValueError, match="field number"):
        bytes_field(1 << 29, b"x")


@settings(max_examples=200)
@given(value=st.integers(min_value=1, max_value=UINT64))
def test_varints_match_protobuf_runtime(value):
    assert varint_field(1, value) == wrappers_pb2.UInt64Value(value=value).SerializeToString()


@settings(max_examples=100)
@given(value=st.integers(min_value=-(1 << 63), max_value=-1))
def test_negative_int64_matches_protobuf_runtime(value):
    encoded = varint_field(1, value)
    assert encoded == wrappers_pb2.Int64Value(value=value).SerializeToString()
    assert last_int(collect(encoded), 1, "m") == value & UINT64


@settings(max_examples=100)
@given(value=st.binary(min_size=1, max_size=300))
def test_bytes_match_protobuf_runtime(value):
    assert bytes_field(1, value) == wrappers_pb2.BytesValue(value=value).SerializeToString()


# --- fuzz ------------------------------------------------------------------------------------------

field_numbers = st.integers(min_value=1, max_value=(1 << 29) - 1)
wire_fields = st.one_of(
    st.tuples(field_numbers, st.just(VARINT), st.integers(min_value=1, max_value=UINT64)),
    st.tuples(field_numbers, st.just(LEN), st.binary(min_size=1, max_size=64)),
)


@settings(max_examples=300)
@given(items=st.lists(wire_fields, max_size=12))
def test_round_trip_encode_then_decode(items):
    encoded = b"".join(varint_field(n, v) if t == VARINT else bytes_field(n, v) for n, t, v in items)
    assert list(iter_fields(encoded)) == [WireField(n, t, v) for n, t, v in items]


@settings(max_examples=500)
@given(data=st.binary(max_size=128))
def test_random_bytes_raise_only_the_typed_error(data):
    try:
        parsed = list(iter_fields(data, "fuzz"))
    except ProtobufWireError as error:
        assert error.code == "bad-protobuf" and "fuzz" in str(error)
        return
    for field in parsed:  # whatever did parse stays within the input and the wire format
        assert field.number >= 1
        assert field.wire_type in (VARINT, FIXED64, LEN, FIXED32)
        if isinstance(field.value, bytes):
            assert len(field.value) <= len(data)
        else:
            assert 0 <= field.value <= UINT64


@settings(max_examples=300)
@given(data=st.binary(max_size=128))
def test_random_bytes_raise_only_the_callers_error(data):
    try:
        grouped = collect(data, "fuzz", error=CustomError)
        for number in grouped:
            try:
                last_bytes(grouped, number, "fuzz", error=CustomError)
            except CustomError:
                last_int(grouped, number, "fuzz", error=CustomError)
    except CustomError as error:
        assert error.code == "custom-wire"
