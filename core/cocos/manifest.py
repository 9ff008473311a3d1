"""The manifest in its three forms: the model, the ``cvms.ComputationRunReq`` protobuf and Go-JSON.

* ``to_run_request`` / ``from_run_request``: model <-> protobuf, keeping the presence of
  ``source``, ``kbs``, ``algorithm`` and ``agent_config`` (COCOS-PROTOCOL.md §6.1);
* ``go_json`` / ``checksum`` / ``checksum_of_json_file``: the Go-JSON of §6.2 and its
  SHA3-256, as ``cocos-cli checksum --manifest`` computes it;
* ``expected_pcr16``: the vTPM PCR16 value the agent extends after receiving the manifest
  (ATTESTATION.md §4);
* ``computation_from_json`` / ``computation_to_json``: our own manifest files;
* ``run_request_chunks``: the chunked CVMS delivery of §8.3.
"""

from __future__ import annotations

import hashlib

from core.cocos.computation import (
    HASH_SIZE,
    AgentConfig,
    Algorithm,
    Computation,
    Dataset,
    KBSConfig,
    ManifestError,
    ResultConsumer,
    Source,
)
from core.cocos.go_json import go_json, go_json_with_agent_config
from core.cocos.go_json_decode import decode_computation
from core.cocos.run_chunks import RunRequestAssembler, assemble_run_request, run_request_chunks
from proto.cvms import cvms_pb2

__all__ = [
    "RunRequestAssembler",
    "assemble_run_request",
    "checksum",
    "checksum_of_json_file",
    "computation_from_json",
    "computation_to_json",
    "expected_pcr16",
    "from_run_request",
    "go_json",
    "run_request_chunks",
    "to_run_request",
]


# --- model -> protobuf ----------------------------------------------------------------------

def _source_msg(source: Source) -> cvms_pb2.Source:
    return cvms_pb2.Source(
        type=source.type, url=source.url, kbs_resource_path=source.kbs_resource_path, encrypted=source.encrypted
    )


def _kbs_msg(kbs: KBSConfig) -> cvms_pb2.KBSConfig:
    return cvms_pb2.KBSConfig(url=kbs.url, enabled=kbs.enabled)


def _dataset_msg(dataset: Dataset) -> cvms_pb2.Dataset:
    msg = cvms_pb2.Dataset(
        hash=dataset.hash, userKey=dataset.user_key, filename=dataset.filename, decompress=dataset.decompress
    )
    # CopyFrom on a sub-message marks it present even when every field is default.
    if dataset.source is not None:
        msg.source.CopyFrom(_source_msg(dataset.source))
    if dataset.kbs is not None:
        msg.kbs.CopyFrom(_kbs_msg(dataset.kbs))
    return msg


def _algorithm_msg(algorithm: Algorithm) -> cvms_pb2.Algorithm:
    msg = cvms_pb2.Algorithm(
        hash=algorithm.hash,
        userKey=algorithm.user_key,
        algo_type=algorithm.algo_type,
        algo_args=algorithm.algo_args,
    )
    if algorithm.source is not None:
        msg.source.CopyFrom(_source_msg(algorithm.source))
    if algorithm.kbs is not None:
        msg.kbs.CopyFrom(_kbs_msg(algorithm.kbs))
    return msg


def _agent_config_msg(config: AgentConfig) -> cvms_pb2.AgentConfig:
    return cvms_pb2.AgentConfig(
        port=config.port,
        cert_file=config.cert_file,
        key_file=config.key_file,
        client_ca_file=config.client_ca_file,
        server_ca_file=config.server_ca_file,
        log_level=config.log_level,
        attested_tls=config.attested_tls,
    )


def to_run_request(computation: Computation) -> cvms_pb2.ComputationRunReq:
    """The protobuf a CVMS server sends to the agent. Refuses a computation without an algorithm."""
    computation.require_runnable()
    msg = cvms_pb2.ComputationRunReq(
        id=computation.id,
        name=computation.name,
        description=computation.description,
        datasets=[_dataset_msg(d) for d in computation.datasets],
        result_consumers=[cvms_pb2.ResultConsumer(userKey=c.user_key) for c in computation.result_consumers],
    )
    if computation.algorithm is not None:  # always, after require_runnable
        msg.algorithm.CopyFrom(_algorithm_msg(computation.algorithm))
    if computation.agent_config is not None:
        msg.agent_config.CopyFrom(_agent_config_msg(computation.agent_config))
    return msg


# --- protobuf -> model ----------------------------------------------------------------------

def _source(msg: cvms_pb2.Dataset | cvms_pb2.Algorithm) -> Source | None:
    if not msg.HasField("source"):
        return None
    s = msg.source
    return Source(type=s.type, url=s.url, kbs_resource_path=s.kbs_resource_path, encrypted=s.encrypted)


def _kbs(msg: cvms_pb2.Dataset | cvms_pb2.Algorithm) -> KBSConfig | None:
    return KBSConfig(url=msg.kbs.url, enabled=msg.kbs.enabled) if msg.HasField("kbs") else None


def _checked_hash(value: bytes, where: str) -> bytes:
    if len(value) != HASH_SIZE:
        raise ManifestError(
            f"{where} is {len(value)} bytes; the agent accepts only a 32-byte SHA3-256 "
            "(it would crash on this manifest)"
        )
    return value


def _dataset(msg: cvms_pb2.Dataset, index: int) -> Dataset:
    return Dataset(
        hash=_checked_hash(msg.hash, f"datasets[{index}].hash"),
        user_key=msg.userKey,
        filename=msg.filename,
        source=_source(msg),
        decompress=msg.decompress,
        kbs=_kbs(msg),
    )


def _algorithm(msg: cvms_pb2.ComputationRunReq) -> Algorithm | None:
    if not msg.HasField("algorithm"):
        return None
    a = msg.algorithm
    return Algorithm(
        hash=_checked_hash(a.hash, "algorithm.hash"),
        user_key=a.userKey,
        source=_source(a),
        algo_type=a.algo_type,
        algo_args=tuple(a.algo_args),
        kbs=_kbs(a),
    )


def _agent_config(msg: cvms_pb2.ComputationRunReq) -> AgentConfig | None:
    if not msg.HasField("agent_config"):
        return None
    c = msg.agent_config
    return AgentConfig(
        port=c.port,
        cert_file=c.cert_file,
        key_file=c.key_file,
        client_ca_file=c.client_ca_file,
        server_ca_file=c.server_ca_file,
        log_level=c.log_level,
        attested_tls=c.attested_tls,
    )


def from_run_request(msg: cvms_pb2.ComputationRunReq) -> Computation:
    """The model of a received ``ComputationRunReq``; rejects hashes that are not 32 bytes."""
    if not isinstance(msg, cvms_pb2.ComputationRunReq):
        raise ManifestError(f"expected a cvms.ComputationRunReq, got {type(msg).__name__}")
    return Computation(
        id=msg.id,
        name=msg.name,
        description=msg.description,
        datasets=tuple(_dataset(d, i) for i, d in enumerate(msg.datasets)),
        algorithm=_algorithm(msg),
        result_consumers=tuple(ResultConsumer(user_key=c.userKey) for c in msg.result_consumers),
        agent_config=_agent_config(msg),
    )


# --- checksums and PCR16 --------------------------------------------------------------------

def checksum(computation: Computation) -> bytes:
    """The manifest checksum participants sign: SHA3-256 of the Go-JSON (§6.2)."""
    return hashlib.sha3_256(go_json(computation)).digest()


def checksum_of_json_file(data: bytes) -> bytes:
    """What ``cocos-cli checksum --manifest`` prints (as raw bytes) for this JSON file."""
    return checksum(decode_computation(data, with_agent_config=False))


def expected_pcr16(computation: Computation) -> dict[str, bytes]:
    """vTPM PCR16 after the agent extends it once with this manifest, per bank.

    The agent extends SHA3-256 of its JSON into the SHA-256 bank and SHA3-384 into the
    SHA-384 bank, starting from zero: PCR = H(0...0 || digest).
    """
    document = go_json(computation, for_pcr16=True)
    return {
        "sha256": hashlib.sha256(bytes(32) + hashlib.sha3_256(document).digest()).digest(),
        "sha384": hashlib.sha384(bytes(48) + hashlib.sha3_384(document).digest()).digest(),
    }


# --- our own files --------------------------------------------------------------------------

def computation_to_json(computation: Computation) -> bytes:
    """Our on-disk manifest: the Go-JSON of §6.2 plus ``agent_config``."""
    return go_json_with_agent_config(computation)


def computation_from_json(data: bytes) -> Computation:
    """Read a manifest file written by ``computation_to_json`` (or by hand, or by cocos-cli)."""
    return decode_computation(data, with_agent_config=True)
