"""COCOS-PROTOCOL.md §6.3 test vectors, byte for byte."""

from __future__ import annotations

import base64
import hashlib

from cocos_samples import (
    ALGORITHM_BYTES,
    DATASET_BYTES,
    TEST_SPKI_B64,
    TEST_SPKI_HEX,
    VECTOR1_CHECKSUM,
    VECTOR1_JSON,
    VECTOR2_JSON,
    VECTOR2_PCR16_SHA256,
    VECTOR2_PCR16_SHA384,
    VECTOR2_SHA3_256,
    VECTOR2_SHA3_256_B64,
    VECTOR2_SHA3_384,
    demo_computation,
    sample_spki,
)
from core.cocos.manifest import (
    checksum,
    checksum_of_json_file,
    computation_from_json,
    expected_pcr16,
    from_run_request,
    go_json,
    to_run_request,
)
from proto.cvms import cvms_pb2


def test_the_test_key_is_the_documented_spki():
    assert sample_spki().hex() == TEST_SPKI_HEX
    assert base64.b64encode(sample_spki()).decode() == TEST_SPKI_B64


def test_asset_hashes_are_sha3_256():
    assert hashlib.sha3_256(ALGORITHM_BYTES).hexdigest() == "0843ae7e963d77aa67e4b2016bdcd33c9b97cf8c9c133a42e7efaf006857edf8"
    assert hashlib.sha3_256(DATASET_BYTES).hexdigest() == "1925589754f77fa6a1bf00456e385e893493a1b0de91e17ac8dea108f6dcb980"
    assert hashlib.sha3_256(b"").hexdigest() == "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
    assert hashlib.sha3_256(b"abc").hexdigest() == "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"


def test_vector1_checksum_of_the_json_file():
    assert checksum_of_json_file(VECTOR1_JSON).hex() == VECTOR1_CHECKSUM


def test_vector1_checksum_survives_reformatting_and_unknown_keys():
    pretty = b'{\n  "ID": "1234",\n  "name": "Example Computation",\n  "extra": [1, {"x": null}],\n' \
             b'  "description": "This is an example computation"\n}\n'
    assert checksum_of_json_file(pretty).hex() == VECTOR1_CHECKSUM


def test_vector2_exact_json_in_both_forms():
    computation = demo_computation()
    assert go_json(computation, for_pcr16=True) == VECTOR2_JSON
    assert go_json(computation) == VECTOR2_JSON  # no source.type, so the CLI form is the same


def test_vector2_checksum_and_sha3_384():
    computation = demo_computation()
    assert checksum(computation).hex() == VECTOR2_SHA3_256
    assert base64.b64encode(checksum(computation)).decode() == VECTOR2_SHA3_256_B64
    assert hashlib.sha3_384(go_json(computation, for_pcr16=True)).hexdigest() == VECTOR2_SHA3_384


def test_vector2_pcr16_banks():
    banks = expected_pcr16(demo_computation())
    assert {name: value.hex() for name, value in banks.items()} == {
        "sha256": VECTOR2_PCR16_SHA256,
        "sha384": VECTOR2_PCR16_SHA384,
    }


def test_vector2_as_a_file_and_through_protobuf():
    assert checksum_of_json_file(VECTOR2_JSON).hex() == VECTOR2_SHA3_256
    assert computation_from_json(VECTOR2_JSON) == demo_computation()
    wire = to_run_request(demo_computation()).SerializeToString()
    received = from_run_request(cvms_pb2.ComputationRunReq.FromString(wire))
    assert expected_pcr16(received)["sha256"].hex() == VECTOR2_PCR16_SHA256
