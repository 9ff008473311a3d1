"""Model <-> cvms.ComputationRunReq, including protobuf presence (COCOS-PROTOCOL.md §6.1)."""

from __future__ import annotations

import pytest

from cocos_samples import demo_computation
from core.cocos.computation import (
    AgentConfig,
    Algorithm,
    Computation,
    Dataset,
    KBSConfig,
    ManifestError,
    ManifestIncomplete,
    ResultConsumer,
    Source,
)
from core.cocos.manifest import from_run_request, go_json, to_run_request
from core.errors import BadInput, Refused
from proto.cvms import cvms_pb2

H = bytes(range(32))


def _over_the_wire(computation: Computation) -> Computation:
    wire = to_run_request(computation).SerializeToString()
    return from_run_request(cvms_pb2.ComputationRunReq.FromString(wire))


def test_demo_round_trips_and_uses_the_wire_field_names():
    msg = to_run_request(demo_computation())
    assert msg.algorithm.userKey == demo_computation().algorithm.user_key
    assert list(msg.algorithm.algo_args) == ["datasets/data.csv"]
    assert msg.datasets[0].filename == "data.csv"
    assert not msg.datasets[0].HasField("source") and not msg.datasets[0].HasField("kbs")
    assert not msg.HasField("agent_config")
    assert _over_the_wire(demo_computation()) == demo_computation()


def test_everything_set_round_trips():
    computation = Computation(
        id="c", name="n", description="d",
        datasets=(
            Dataset(hash=H, user_key=b"k", filename="f", source=Source(type="s3", url="s3://b/k",
                    kbs_resource_path="p", encrypted=True), decompress=True, kbs=KBSConfig(url="u", enabled=True)),
        ),
        algorithm=Algorithm(hash=H, user_key=b"a", source=Source(url="docker://r/i:t"), algo_type="docker",
                            algo_args=("1", "2"), kbs=KBSConfig(enabled=True)),
        result_consumers=(ResultConsumer(user_key=b"c1"), ResultConsumer(user_key=b"c2")),
        agent_config=AgentConfig(port="7002", cert_file="c", key_file="k", client_ca_file="cc",
                                 server_ca_file="sc", log_level="debug", attested_tls=True),
    )
    assert _over_the_wire(computation) == computation


def test_present_but_empty_sub_messages_survive_serialisation():
    computation = Computation(
        datasets=(Dataset(hash=H, source=Source(), kbs=KBSConfig()),),
        algorithm=Algorithm(hash=H, kbs=KBSConfig()),
        agent_config=AgentConfig(),
    )
    msg = to_run_request(computation)
    assert msg.datasets[0].HasField("source") and msg.datasets[0].HasField("kbs")
    assert msg.algorithm.HasField("kbs") and not msg.algorithm.HasField("source")
    received = _over_the_wire(computation)
    assert received == computation
    assert b'"source":{},"kbs":{}' in go_json(received, for_pcr16=True)


def test_absent_sub_messages_stay_absent():
    received = _over_the_wire(Computation(datasets=(Dataset(hash=H),), algorithm=Algorithm(hash=H)))
    assert received.datasets[0].source is None and received.datasets[0].kbs is None
    assert received.algorithm.source is None and received.algorithm.kbs is None
    assert received.agent_config is None


def test_source_type_travels_in_protobuf_but_not_into_the_pcr16_json():
    received = _over_the_wire(Computation(algorithm=Algorithm(hash=H, source=Source(type="oci-image", url="docker://x"))))
    assert received.algorithm.source == Source(type="oci-image", url="docker://x")
    assert b'"source":{"url":"docker://x"}' in go_json(received, for_pcr16=True)
    assert b'"source":{"type":"oci-image","url":"docker://x"}' in go_json(received)


def test_a_computation_without_algorithm_is_refused():
    with pytest.raises(ManifestIncomplete) as raised:
        to_run_request(Computation(id="c9"))
    assert isinstance(raised.value, Refused)
    assert raised.value.code == "manifest-incomplete"
    assert "c9 has no algorithm" in str(raised.value)


def test_received_manifest_without_algorithm_is_modelled_as_absent():
    assert from_run_request(cvms_pb2.ComputationRunReq(id="x")) == Computation(id="x")


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_wrong_hash_length_on_the_wire_is_rejected_with_its_place(length):
    msg = cvms_pb2.ComputationRunReq(datasets=[cvms_pb2.Dataset(hash=H), cvms_pb2.Dataset(hash=bytes(length))])
    msg.algorithm.hash = H
    with pytest.raises(ManifestError) as raised:
        from_run_request(msg)
    assert raised.value.code == "bad-manifest"
    assert f"datasets[1].hash is {length} bytes" in str(raised.value)
    msg = cvms_pb2.ComputationRunReq()
    msg.algorithm.hash = bytes(length)
    with pytest.raises(ManifestError, match=f"algorithm.hash is {length} bytes"):
        from_run_request(msg)


def test_from_run_request_rejects_other_messages():
    with pytest.raises(ManifestError, match="expected a cvms.ComputationRunReq, got RunReqChunks"):
        from_run_request(cvms_pb2.RunReqChunks())  # type: ignore[arg-type]


# --- the model's own checks -----------------------------------------------------------------

def test_model_rejects_a_short_hash_with_advice():
    with pytest.raises(ManifestError) as raised:
        Dataset(hash=b"\x00" * 31)
    assert isinstance(raised.value, BadInput)
    assert "dataset hash is 31 bytes; it must be the 32-byte SHA3-256" in str(raised.value)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Dataset(hash="00" * 32), "dataset hash must be bytes, not str"),
        (lambda: Dataset(hash=H, filename=b"x"), "dataset.filename must be a string, not bytes"),
        (lambda: Dataset(hash=H, decompress="true"), "dataset.decompress must be true or false, not str"),
        (lambda: Algorithm(hash=H, algo_args="a b"), "algorithm algo_args must be a list of strings"),
        (lambda: Algorithm(hash=H, algo_args=["a", 1]), r"algorithm algo_args\[1\] must be a string, not int"),
        (lambda: Algorithm(hash=H, source={"url": "x"}), "algorithm.source must be a Source or None, not dict"),
        (lambda: Computation(datasets=[H]), r"datasets\[0\] must be a Dataset, not bytes"),
        (lambda: Computation(datasets=None), "datasets must be a list of Dataset, not NoneType"),
        (lambda: Algorithm(hash=H, algo_args=None), "algorithm algo_args must be a list of strings, not NoneType"),
        (lambda: AgentConfig(attested_tls=1), "agent_config.attested_tls must be true or false, not int"),
    ],
)
def test_model_rejects_wrong_types(build, message):
    with pytest.raises(ManifestError, match=message):
        build()


def test_model_normalises_lists_and_bytearrays():
    dataset = Dataset(hash=bytearray(H), user_key=memoryview(b"k"))
    computation = Computation(datasets=[dataset], result_consumers=[ResultConsumer(user_key=b"c")])
    assert type(dataset.hash) is bytes and dataset.user_key == b"k"
    assert isinstance(computation.datasets, tuple) and isinstance(computation.result_consumers, tuple)
    assert hash(computation) == hash(Computation(datasets=(Dataset(hash=H, user_key=b"k"),),
                                                 result_consumers=(ResultConsumer(user_key=b"c"),)))
