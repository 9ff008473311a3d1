"""Malformed manifest files get a typed, specific error; nothing else escapes (fuzzed)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cocos_samples import VECTOR2_JSON
from core.cocos.computation import AgentConfig, Algorithm, Computation, Dataset, KBSConfig, ManifestError, ResultConsumer, Source
from core.cocos.manifest import (
    checksum,
    checksum_of_json_file,
    computation_from_json,
    computation_to_json,
    from_run_request,
    go_json,
    to_run_request,
)
from core.errors import BadInput

H = "[" + ",".join(["7"] * 32) + "]"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"not valid JSON \(Expecting value at line 1, column 1\)"),
        (b"{", "not valid JSON"),
        (b'{"id":"1"} x', r"not valid JSON \(Extra data"),
        (b'{"id":NaN}', "NaN is not a JSON value"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # Go rejects a byte-order mark as well
        (b"[]", "the manifest must be a JSON object, not an array"),
        (b'"x"', "the manifest must be a JSON object, not a string"),
        (b'{"id":1}', "id must be a string, not a number"),
        (b'{"id":true}', "id must be a string, not a boolean"),
        (b'{"datasets":{}}', "datasets must be an array of objects, not an object"),
        (b'{"datasets":[1]}', r"datasets\[0\] must be a JSON object, not a number"),
        (b'{"datasets":[{"filename":"a"}]}', r'datasets\[0\] has no "hash"'),
        (b'{"datasets":[null]}', r'datasets\[0\] has no "hash"'),
        (b'{"algorithm":{}}', 'algorithm has no "hash"'),
        (b'{"algorithm":{"hash":"B0OufpY9d6pn5LIBa9zTPJuXz4ycEzpC5++vAGhX7fg="}}',
         "algorithm.hash must be an array of 32 integers 0-255 .*not a string"),
        (b'{"algorithm":{"hash":[1,2,3]}}', "algorithm.hash has 3 elements; a SHA3-256 hash has exactly 32"),
        (b'{"algorithm":{"hash":[' + b"0," * 31 + b"256]}}", r"algorithm.hash\[31\] is 256; every element must be an integer 0-255"),
        (b'{"algorithm":{"hash":[' + b"0," * 31 + b"-1]}}", r"algorithm.hash\[31\] is -1"),
        (b'{"algorithm":{"hash":[' + b"0," * 31 + b"1.0]}}", r"algorithm.hash\[31\] is 1.0"),
        (b'{"algorithm":{"hash":[' + b"0," * 31 + b"1e2]}}", r"algorithm.hash\[31\] is 1e2"),
        (b'{"algorithm":{"hash":[' + b"0," * 31 + b"-0]}}", r"algorithm.hash\[31\] is -0"),
        (b'{"algorithm":{"hash":[' + b"0," * 31 + b"true]}}", r"algorithm.hash\[31\] is true"),
        (b'{"algorithm":{"hash":[' + b"0," * 31 + b'"1"]}}', r"algorithm.hash\[31\] is a string"),
        (b'{"algorithm":{"hash":' + H.encode() + b',"user_key":"not base64!"}}', "algorithm.user_key is not valid standard base64"),
        (b'{"algorithm":{"hash":' + H.encode() + b',"user_key":"AQI"}}', "algorithm.user_key is not valid standard base64"),
        (b'{"algorithm":{"hash":' + H.encode() + b',"user_key":{}}}', "algorithm.user_key must be a base64 string, not an object"),
        (b'{"algorithm":{"hash":' + H.encode() + b',"algo_args":"a"}}', "algorithm.algo_args must be an array of strings"),
        (b'{"algorithm":{"hash":' + H.encode() + b',"algo_args":[1]}}', r"algorithm.algo_args\[0\] must be a string"),
        (b'{"algorithm":{"hash":' + H.encode() + b',"source":[]}}', "algorithm.source must be a JSON object, not an array"),
        (b'{"algorithm":{"hash":' + H.encode() + b',"kbs":{"enabled":"yes"}}}', "algorithm.kbs.enabled must be true or false, not a string"),
        (b'{"datasets":[{"hash":' + H.encode() + b',"decompress":1}]}', r"datasets\[0\].decompress must be true or false"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_files_are_rejected_with_the_reason(data, message):
    with pytest.raises(ManifestError, match=message) as raised:
        checksum_of_json_file(data)
    assert isinstance(raised.value, BadInput)
    assert raised.value.code == "bad-manifest"


def test_agent_config_types_are_checked_in_our_files():
    with pytest.raises(ManifestError, match="agent_config.attested_tls must be true or false"):
        computation_from_json(b'{"agent_config":{"attested_tls":"true"}}')


def test_non_bytes_input_is_rejected():
    with pytest.raises(ManifestError, match="a manifest must be bytes, not str"):
        checksum_of_json_file('{"id":"1"}')  # type: ignore[arg-type]


def test_unknown_keys_may_hold_anything():
    data = b'{"x":[1.5,-0,1e999,NaN_NOT],"id":"1"}'.replace(b",NaN_NOT", b"")
    assert computation_from_json(data) == Computation(id="1")
    assert computation_from_json(b'{"big":' + b"9" * 5000 + b',"id":"1"}') == Computation(id="1")


# --- fuzz ----------------------------------------------------------------------------------

_FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_keys = st.sampled_from(
    ["id", "name", "description", "datasets", "algorithm", "result_consumers", "hash", "user_key", "filename",
     "source", "decompress", "kbs", "algo_type", "algo_args", "type", "url", "kbs_resource_path", "encrypted",
     "enabled", "agent_config", "attested_tls", "ID", "User_Key", "x"]
)
# Near-miss hashes (31-33 numbers, some out of range) reach the hash checks more often than chance.
_near_hashes = st.lists(st.integers(-1, 256), min_size=31, max_size=33)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-300, 300) | st.sampled_from([1.5, -0.0, 1e300]) | st.text(max_size=8) | _near_hashes,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=20,
)


def _run_all(data: bytes) -> None:
    for parse in (checksum_of_json_file, computation_from_json):
        try:
            parse(data)
        except ManifestError:
            pass


@_FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes_raise_only_manifest_errors(data):
    _run_all(data)


@_FUZZ
@given(st.dictionaries(_keys, _json_values, max_size=8))
def test_fuzz_structured_json_raises_only_manifest_errors(document):
    _run_all(json.dumps(document).encode())


@_FUZZ
@given(st.integers(0, len(VECTOR2_JSON) - 1), st.binary(min_size=1, max_size=4))
def test_fuzz_mutated_vector_raises_only_manifest_errors(position, junk):
    _run_all(VECTOR2_JSON[:position] + junk + VECTOR2_JSON[position + len(junk):])


# --- round-trip properties --------------------------------------------------------------------

_text = st.text(max_size=12)
_hashes = st.binary(min_size=32, max_size=32)
_sources = st.none() | st.builds(Source, type=_text, url=_text, kbs_resource_path=_text, encrypted=st.booleans())
_kbs = st.none() | st.builds(KBSConfig, url=_text, enabled=st.booleans())
_computations = st.builds(
    Computation,
    id=_text, name=_text, description=_text,
    datasets=st.lists(st.builds(Dataset, hash=_hashes, user_key=st.binary(max_size=8), filename=_text,
                                source=_sources, decompress=st.booleans(), kbs=_kbs), max_size=3).map(tuple),
    algorithm=st.none() | st.builds(Algorithm, hash=_hashes, user_key=st.binary(max_size=8), source=_sources,
                                    algo_type=_text, algo_args=st.lists(_text, max_size=3).map(tuple), kbs=_kbs),
    result_consumers=st.lists(st.builds(ResultConsumer, user_key=st.binary(max_size=8)), max_size=3).map(tuple),
    agent_config=st.none() | st.builds(AgentConfig, port=_text, cert_file=_text, attested_tls=st.booleans()),
)


@_FUZZ
@given(_computations)
def test_property_our_files_round_trip_and_checksums_agree(computation):
    assert computation_from_json(computation_to_json(computation)) == computation
    assert checksum_of_json_file(go_json(computation)) == checksum(computation)
    assert checksum_of_json_file(computation_to_json(computation)) == checksum(computation)
    if computation.algorithm is not None:
        assert from_run_request(to_run_request(computation)) == computation
