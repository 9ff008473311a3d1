"""Sample computations for the manifest tests, built from the published test vectors.

The Ed25519 key is derived here from the seed of COCOS-PROTOCOL.md §4.4, so the tests make
their own evidence instead of reading any shared file.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.cocos.computation import Algorithm, Computation, Dataset, ResultConsumer

TEST_SEED = bytes(range(32))
TEST_SPKI_HEX = "302a300506032b657003210003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
TEST_SPKI_B64 = "MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="

ALGORITHM_BYTES = b"print('hello')\n"
DATASET_BYTES = b"a,b\n1,2\n"

VECTOR1_JSON = b'{"id":"1234","name":"Example Computation","description":"This is an example computation"}'
VECTOR1_CHECKSUM = "c8344428fca26ed8c4dfee031cf1459ebcf81bd6cb5f4318f72b3bbd68782146"

VECTOR2_JSON = (
    b'{"id":"1","name":"demo","description":"demo computation","datasets":[{"hash":[25,37,88,151,84,247,127,166,'
    b"161,191,0,69,110,56,94,137,52,147,161,176,222,145,225,122,200,222,161,8,246,220,185,128],"
    b'"user_key":"MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=","filename":"data.csv"}],'
    b'"algorithm":{"hash":[8,67,174,126,150,61,119,170,103,228,178,1,107,220,211,60,155,151,207,140,156,19,58,'
    b'66,231,239,175,0,104,87,237,248],"user_key":"MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",'
    b'"algo_type":"python","algo_args":["datasets/data.csv"]},"result_consumers":[{"user_key":'
    b'"MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="}]}'
)
VECTOR2_SHA3_256 = "ac9029de3ded068e548f0fedd99e003c2d76cc64a344a235c5255502e05f97aa"
VECTOR2_SHA3_256_B64 = "rJAp3j3tBo5Ujw/t2Z4APC12zGSjRKI1xSVVAuBfl6o="
VECTOR2_SHA3_384 = "3e68241045981756e44f35c305b769a3e4d41e76d4187ceaf70245bdb7c0a9ab16a968d960b36c6c90faa0915b02566a"
VECTOR2_PCR16_SHA256 = "3afa1deedb7fa7524ebc3e121de12cc4c39db42dc02b1a39b42d477387f4d46b"
VECTOR2_PCR16_SHA384 = (
    "714266213b7c053c9c956b7a0df35ece4a1a2e96127da6fae7a68dec5cec2071bc5c3204ab38ed881625985c02d0b9f4"
)


def sample_spki() -> bytes:
    """DER SPKI of the §4.4 Ed25519 key, derived from its seed."""
    key = Ed25519PrivateKey.from_private_bytes(TEST_SEED)
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def demo_computation() -> Computation:
    """The manifest of §6.3 vector 2: one key for all three roles."""
    key = sample_spki()
    return Computation(
        id="1",
        name="demo",
        description="demo computation",
        datasets=(Dataset(hash=hashlib.sha3_256(DATASET_BYTES).digest(), user_key=key, filename="data.csv"),),
        algorithm=Algorithm(
            hash=hashlib.sha3_256(ALGORITHM_BYTES).digest(),
            user_key=key,
            algo_type="python",
            algo_args=("datasets/data.csv",),
        ),
        result_consumers=(ResultConsumer(user_key=key),),
    )
