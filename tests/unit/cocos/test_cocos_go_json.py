"""Go encoding/json compatibility of the Computation JSON (COCOS-PROTOCOL.md §6.2)."""

from __future__ import annotations

import hashlib
import json

import pytest

from cocos_samples import VECTOR1_CHECKSUM
from core.cocos.computation import AgentConfig, Algorithm, Computation, Dataset, KBSConfig, ResultConsumer, Source
from core.cocos.go_json import go_string
from core.cocos.go_json_decode import go_fold
from core.cocos.manifest import checksum_of_json_file, computation_from_json, computation_to_json, go_json

H1 = bytes(range(32))
H1_JSON = "[" + ",".join(str(i) for i in range(32)) + "]"


def _json_of_file(data: bytes) -> bytes:
    """Re-encode a JSON file the way checksum_of_json_file sees it."""
    return go_json(computation_from_json(data))


# --- string escaping --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("plain", b'"plain"'),
        ('say "hi"\\', b'"say \\"hi\\"\\\\"'),
        ("<a href='x'>&</a>", b'"\\u003ca href=\'x\'\\u003e\\u0026\\u003c/a\\u003e"'),
        ("line\u2028para\u2029", b'"line\\u2028para\\u2029"'),
        ("\n\r\t\b\f", b'"\\n\\r\\t\\b\\f"'),
        ("\x00\x01\x1f", b'"\\u0000\\u0001\\u001f"'),
        ("\x7f", b'"\x7f"'),  # DEL is not escaped by Go
        ("caf\u00e9 \u4e2d \U0001f600", "\"caf\u00e9 \u4e2d \U0001f600\"".encode()),  # raw UTF-8
        ("lone \ud800 surrogate", "\"lone \ufffd surrogate\"".encode()),
        ("/", b'"/"'),  # Go does not escape the solidus
    ],
)
def test_go_string_escaping(text, encoded):
    assert go_string(text) == encoded


def test_escaping_reaches_every_string_field():
    computation = Computation(
        id="<1>",
        name="a&b",
        datasets=(Dataset(hash=H1, filename="x<y>.csv", source=Source(url="https://h/?a=1&b=2")),),
        algorithm=Algorithm(hash=H1, algo_type="bin", algo_args=("--x=<1>",)),
    )
    assert go_json(computation) == (
        '{"id":"\\u003c1\\u003e","name":"a\\u0026b","datasets":[{"hash":' + H1_JSON
        + ',"filename":"x\\u003cy\\u003e.csv","source":{"url":"https://h/?a=1\\u0026b=2"}}],'
        '"algorithm":{"hash":' + H1_JSON + ',"algo_type":"bin","algo_args":["--x=\\u003c1\\u003e"]}}'
    ).encode()


def test_invalid_utf8_in_a_file_becomes_one_replacement_per_byte():
    # \xe2\x82 is a truncated 3-byte sequence: Go replaces each byte, unlike Python's "replace".
    data = b'{"name":"a\xe2\x82b\xffc"}'
    assert _json_of_file(data) == '{"name":"a\ufffd\ufffdb\ufffdc"}'.encode()


def test_escaped_lone_surrogate_in_a_file_becomes_replacement():
    assert _json_of_file(b'{"name":"x\\ud800y","id":"\\ud83d\\ude00"}') == '{"id":"\U0001f600","name":"x\ufffdy"}'.encode()


# --- omission, order and presence --------------------------------------------------------------

def test_empty_computation_is_an_empty_object():
    assert go_json(Computation()) == b"{}"


def test_full_key_order_and_omission_rules():
    computation = Computation(
        id="7",
        datasets=(
            Dataset(
                hash=H1,
                user_key=b"\x01\x02",
                filename="d.zip",
                source=Source(type="s3", url="s3://b/k", kbs_resource_path="default/key/k", encrypted=True),
                decompress=True,
                kbs=KBSConfig(url="https://kbs", enabled=True),
            ),
            Dataset(hash=H1),  # only the hash, which is never omitted
        ),
        algorithm=Algorithm(hash=H1, source=Source(), kbs=KBSConfig()),
        result_consumers=(ResultConsumer(user_key=b"\xff"), ResultConsumer()),
        agent_config=AgentConfig(attested_tls=True),  # never part of the Go-JSON
    )
    expected = (
        '{"id":"7","datasets":[{"hash":' + H1_JSON + ',"user_key":"AQI=","filename":"d.zip",'
        '"source":{"type":"s3","url":"s3://b/k","kbs_resource_path":"default/key/k","encrypted":true},'
        '"decompress":true,"kbs":{"url":"https://kbs","enabled":true}},{"hash":' + H1_JSON + '}],'
        '"algorithm":{"hash":' + H1_JSON + ',"source":{},"kbs":{}},'
        '"result_consumers":[{"user_key":"/w=="},{}]}'
    )
    assert go_json(computation) == expected.encode()
    # The agent's PCR16 form differs only by source.type.
    assert go_json(computation, for_pcr16=True) == expected.replace('"type":"s3",', "").encode()


def test_presence_of_empty_source_and_kbs_changes_the_checksum():
    bare = Computation(algorithm=Algorithm(hash=H1))
    with_empty_kbs = Computation(algorithm=Algorithm(hash=H1, kbs=KBSConfig()))
    assert go_json(bare) == ('{"algorithm":{"hash":' + H1_JSON + "}}").encode()
    assert go_json(with_empty_kbs) == ('{"algorithm":{"hash":' + H1_JSON + ',"kbs":{}}}').encode()
    assert hashlib.sha3_256(go_json(bare)).digest() != hashlib.sha3_256(go_json(with_empty_kbs)).digest()


def test_source_with_only_a_type_is_empty_in_the_pcr16_form():
    computation = Computation(algorithm=Algorithm(hash=H1, source=Source(type="oci-image")))
    assert go_json(computation, for_pcr16=True) == ('{"algorithm":{"hash":' + H1_JSON + ',"source":{}}}').encode()


def test_output_is_json_with_the_same_values():
    computation = Computation(id="é<\u2028", algorithm=Algorithm(hash=H1, algo_args=("a", "")))
    decoded = json.loads(go_json(computation))
    assert decoded == {"id": "é<\u2028", "algorithm": {"hash": list(range(32)), "algo_args": ["a", ""]}}


# --- decoding like Go ------------------------------------------------------------------------

def test_keys_match_case_insensitively_and_with_go_folding():
    # U+212A KELVIN SIGN folds to K and U+017F LONG S to S in Go's key matching.
    data = '{"ID":"1","NaMe":"n","DESCRIPTION":"d","algorithm":{"Hash":%s,"algo_TYPE":"bin","\u212abs":{},"\u017fource":{}}}' % H1_JSON
    assert _json_of_file(data.encode()) == (
        '{"id":"1","name":"n","description":"d","algorithm":{"hash":' + H1_JSON
        + ',"source":{},"algo_type":"bin","kbs":{}}}'
    ).encode()


def test_go_fold_only_folds_onto_ascii_where_go_does():
    assert go_fold("User_Key") == "USER_KEY"
    assert go_fold("\u0130d") == "ID" and go_fold("\u0131d") == "ID"
    assert go_fold("\ufb01lename") != "FILENAME"  # the fi ligature is not a simple fold in Go


def test_camel_case_user_key_is_not_the_json_name():
    data = ('{"algorithm":{"hash":%s,"userKey":"AQI="}}' % H1_JSON).encode()
    assert computation_from_json(data).algorithm.user_key == b""


def test_repeated_keys_last_scalar_wins_and_objects_merge():
    data = (
        '{"id":"a","id":"b","algorithm":{"hash":%s},"algorithm":{"algo_type":"bin"},'
        '"datasets":[{"hash":%s,"filename":"x"}],"datasets":[{"hash":%s}]}' % (H1_JSON, H1_JSON, H1_JSON)
    ).encode()
    computation = computation_from_json(data)
    assert computation.id == "b"
    assert computation.algorithm == Algorithm(hash=H1, algo_type="bin")
    assert computation.datasets == (Dataset(hash=H1),)


def test_null_clears_lists_and_sub_objects_but_not_strings():
    data = (
        '{"id":"keep","id":null,"algorithm":{"hash":%s,"kbs":{},"kbs":null,"algo_args":["x"],"algo_args":null},'
        '"result_consumers":null}' % H1_JSON
    ).encode()
    computation = computation_from_json(data)
    assert computation.id == "keep"
    assert computation.algorithm == Algorithm(hash=H1)
    assert computation.result_consumers == ()


def test_null_algorithm_is_absent_and_top_level_null_is_empty():
    assert computation_from_json(b'{"algorithm":null}').algorithm is None
    assert checksum_of_json_file(b"null") == hashlib.sha3_256(b"{}").digest()
    assert checksum_of_json_file(b' {"id":"1234","name":"Example Computation",'
                                 b'"description":"This is an example computation","algorithm":null} ').hex() == VECTOR1_CHECKSUM


def test_user_key_accepts_base64_with_line_breaks_and_byte_arrays():
    data = ('{"result_consumers":[{"user_key":"AQ\\nID"},{"user_key":[1,2,3]},{"user_key":""}]}').encode()
    assert computation_from_json(data).result_consumers == (
        ResultConsumer(user_key=b"\x01\x02\x03"), ResultConsumer(user_key=b"\x01\x02\x03"), ResultConsumer()
    )


def test_agent_config_is_ignored_by_the_checksum_but_kept_in_our_files():
    data = b'{"id":"1234","name":"Example Computation","description":"This is an example computation",' \
           b'"agent_config":{"port":"7002","attested_tls":true}}'
    assert checksum_of_json_file(data).hex() == VECTOR1_CHECKSUM
    computation = computation_from_json(data)
    assert computation.agent_config == AgentConfig(port="7002", attested_tls=True)
    assert computation_to_json(computation) == data
