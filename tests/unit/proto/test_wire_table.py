"""Our generated descriptors against the wire tables of COCOS-PROTOCOL.md (§2, §3.1, §6.1, §8.2, §9).

Two sources of truth are checked: the tables parsed from the shared doc (skipped when the doc is
absent) and the same tables written out below (always run), so a fresh clone still checks the
wire and a doc edit that drifts from our literal copy is caught too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor

from proto.agent import agent_pb2, agent_pb2_grpc
from proto.cvms import cvms_pb2, cvms_pb2_grpc
from proto.manager import manager_pb2, manager_pb2_grpc
from tests.conftest import SHARED

# service full name -> [(full method path, kind, request type, response type)]
Services = dict[str, list[tuple[str, str, str, str]]]
# message full name -> [(field, number, type)], type "repeated X" for lists, "oneof:NAME X" for oneof members
Messages = dict[str, list[tuple[str, int, str]]]

EXPECTED_SERVICES: Services = {
    "agent.AgentService": [
        ("/agent.AgentService/Algo", "client-streaming", "agent.AlgoRequest", "agent.AlgoResponse"),
        ("/agent.AgentService/Data", "client-streaming", "agent.DataRequest", "agent.DataResponse"),
        ("/agent.AgentService/Result", "server-streaming", "agent.ResultRequest", "agent.ResultResponse"),
        ("/agent.AgentService/Attestation", "server-streaming", "agent.AttestationRequest", "agent.AttestationResponse"),
        (
            "/agent.AgentService/IMAMeasurements", "server-streaming",
            "agent.IMAMeasurementsRequest", "agent.IMAMeasurementsResponse",
        ),
        (
            "/agent.AgentService/AzureAttestationToken", "unary",
            "agent.AttestationTokenRequest", "agent.AttestationTokenResponse",
        ),
    ],
    "manager.ManagerService": [
        ("/manager.ManagerService/CreateVm", "unary", "manager.CreateReq", "manager.CreateRes"),
        ("/manager.ManagerService/RemoveVm", "unary", "manager.RemoveReq", "google.protobuf.Empty"),
        ("/manager.ManagerService/CVMInfo", "unary", "manager.CVMInfoReq", "manager.CVMInfoRes"),
        (
            "/manager.ManagerService/AttestationPolicy", "unary",
            "manager.AttestationPolicyReq", "manager.AttestationPolicyRes",
        ),
    ],
    "cvms.Service": [
        ("/cvms.Service/Process", "bidirectional", "cvms.ClientStreamMessage", "cvms.ServerStreamMessage"),
    ],
}

EXPECTED_MESSAGES: Messages = {
    # §3.1
    "agent.AlgoRequest": [("algorithm", 1, "bytes"), ("requirements", 2, "bytes")],
    "agent.AlgoResponse": [],
    "agent.DataRequest": [("dataset", 1, "bytes"), ("filename", 2, "string")],
    "agent.DataResponse": [],
    "agent.ResultRequest": [],
    "agent.ResultResponse": [("file", 1, "bytes")],
    "agent.AttestationRequest": [("teeNonce", 1, "bytes"), ("vtpmNonce", 2, "bytes"), ("type", 3, "int32")],
    "agent.AttestationResponse": [("file", 1, "bytes")],
    "agent.IMAMeasurementsRequest": [],
    "agent.IMAMeasurementsResponse": [("file", 1, "bytes"), ("pcr10", 2, "bytes")],
    "agent.AttestationTokenRequest": [("tokenNonce", 1, "bytes"), ("type", 3, "int32")],
    "agent.AttestationTokenResponse": [("file", 1, "bytes")],
    # §6.1
    "cvms.ComputationRunReq": [
        ("id", 1, "string"), ("name", 2, "string"), ("description", 3, "string"),
        ("datasets", 4, "repeated cvms.Dataset"), ("algorithm", 5, "cvms.Algorithm"),
        ("result_consumers", 6, "repeated cvms.ResultConsumer"), ("agent_config", 7, "cvms.AgentConfig"),
    ],
    "cvms.Dataset": [
        ("hash", 1, "bytes"), ("userKey", 2, "bytes"), ("filename", 3, "string"),
        ("source", 4, "cvms.Source"), ("decompress", 5, "bool"), ("kbs", 6, "cvms.KBSConfig"),
    ],
    "cvms.Algorithm": [
        ("hash", 1, "bytes"), ("userKey", 2, "bytes"), ("source", 3, "cvms.Source"),
        ("algo_type", 4, "string"), ("algo_args", 5, "repeated string"), ("kbs", 6, "cvms.KBSConfig"),
    ],
    "cvms.ResultConsumer": [("userKey", 1, "bytes")],
    "cvms.Source": [("type", 1, "string"), ("url", 2, "string"), ("kbs_resource_path", 3, "string"), ("encrypted", 4, "bool")],
    "cvms.KBSConfig": [("url", 1, "string"), ("enabled", 2, "bool")],
    "cvms.AgentConfig": [
        ("port", 1, "string"), ("cert_file", 2, "string"), ("key_file", 3, "string"),
        ("client_ca_file", 4, "string"), ("server_ca_file", 5, "string"), ("log_level", 6, "string"),
        ("attested_tls", 7, "bool"),
    ],
    # §8.2
    "cvms.ClientStreamMessage": [
        ("agent_log", 1, "oneof:message cvms.AgentLog"),
        ("agent_event", 2, "oneof:message cvms.AgentEvent"),
        ("run_res", 3, "oneof:message cvms.RunResponse"),
        ("stopComputationRes", 4, "oneof:message cvms.StopComputationResponse"),
        ("agentStateRes", 5, "oneof:message cvms.AgentStateRes"),
        ("vTPMattestationReport", 6, "oneof:message cvms.AttestationResponse"),
        ("azureAttestationToken", 7, "oneof:message cvms.azureAttestationToken"),
    ],
    "cvms.ServerStreamMessage": [
        ("runReqChunks", 1, "oneof:message cvms.RunReqChunks"),
        ("runReq", 2, "oneof:message cvms.ComputationRunReq"),
        ("stopComputation", 3, "oneof:message cvms.StopComputation"),
        ("agentStateReq", 4, "oneof:message cvms.AgentStateReq"),
        ("disconnectReq", 5, "oneof:message cvms.DisconnectReq"),
    ],
    "cvms.AgentLog": [
        ("message", 1, "string"), ("computation_id", 2, "string"), ("level", 3, "string"),
        ("timestamp", 4, "google.protobuf.Timestamp"),
    ],
    "cvms.AgentEvent": [
        ("event_type", 1, "string"), ("timestamp", 2, "google.protobuf.Timestamp"), ("computation_id", 3, "string"),
        ("details", 4, "bytes"), ("originator", 5, "string"), ("status", 6, "string"),
    ],
    "cvms.RunResponse": [("computation_id", 1, "string"), ("error", 2, "string")],
    "cvms.StopComputation": [("computation_id", 1, "string")],
    "cvms.StopComputationResponse": [("computation_id", 1, "string"), ("message", 2, "string")],
    "cvms.AgentStateReq": [("id", 1, "string")],
    "cvms.AgentStateRes": [("id", 1, "string"), ("state", 2, "string")],
    "cvms.DisconnectReq": [("id", 1, "string")],
    "cvms.RunReqChunks": [("data", 1, "bytes"), ("id", 2, "string"), ("is_last", 3, "bool")],
    "cvms.AttestationResponse": [("file", 1, "bytes"), ("certSerialNumber", 2, "string")],
    "cvms.azureAttestationToken": [("file", 1, "bytes"), ("certSerialNumber", 2, "string")],
    # §9
    "manager.CreateReq": [
        ("agent_log_level", 1, "string"), ("agent_cvm_server_ca_cert", 2, "bytes"),
        ("agent_cvm_client_key", 3, "bytes"), ("agent_cvm_client_cert", 4, "bytes"),
        ("agent_cvm_server_url", 5, "string"), ("agent_cvm_ca_url", 6, "string"), ("ttl", 7, "string"),
        ("agent_certs_token", 8, "string"), ("aws_access_key_id", 9, "string"),
        ("aws_secret_access_key", 10, "string"), ("aws_endpoint_url", 11, "string"), ("aws_region", 12, "string"),
        ("aa_kbs_params", 13, "string"),
    ],
    "manager.CreateRes": [("forwarded_port", 1, "string"), ("cvm_id", 2, "string")],
    "manager.RemoveReq": [("cvm_id", 1, "string")],
    "manager.CVMInfoReq": [("id", 1, "string")],
    "manager.CVMInfoRes": [
        ("id", 1, "string"), ("ovmf_version", 2, "string"), ("cpu_num", 3, "int32"), ("cpu_type", 4, "string"),
        ("kernel_cmd", 5, "string"), ("eos_version", 6, "string"),
    ],
    "manager.AttestationPolicyReq": [("id", 1, "string")],
    "manager.AttestationPolicyRes": [("info", 1, "bytes"), ("id", 2, "string")],
}

_MODULES = {"agent": agent_pb2, "manager": manager_pb2, "cvms": cvms_pb2}


# --- our descriptors ------------------------------------------------------------------------

_SCALARS = {
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_BOOL: "bool",
}


def _field_type(field: FieldDescriptor) -> str:
    base = field.message_type.full_name if field.message_type is not None else _SCALARS.get(field.type, f"type{field.type}")
    if field.is_repeated:
        return f"repeated {base}"
    oneof = field.containing_oneof
    if oneof is not None:
        return f"oneof:{oneof.name} {base}"
    return base


def descriptor_messages() -> Messages:
    table: Messages = {}
    for module in _MODULES.values():
        for message in module.DESCRIPTOR.message_types_by_name.values():
            table[message.full_name] = [(f.name, f.number, _field_type(f)) for f in message.fields]
    return table


def _kind(client_streaming: bool, server_streaming: bool) -> str:
    return {
        (False, False): "unary",
        (True, False): "client-streaming",
        (False, True): "server-streaming",
        (True, True): "bidirectional",
    }[(client_streaming, server_streaming)]


def descriptor_services() -> Services:
    table: Services = {}
    for module in _MODULES.values():
        for service in module.DESCRIPTOR.services_by_name.values():
            table[service.full_name] = [
                (
                    f"/{service.full_name}/{m.name}",
                    _kind(m.client_streaming, m.server_streaming),
                    m.input_type.full_name,
                    m.output_type.full_name,
                )
                for m in service.methods
            ]
    return table


# --- the doc --------------------------------------------------------------------------------

def shared_doc(name: str) -> str:
    """The text of a shared spec under ../shared/docs, or skip the test with the reason."""
    path: Path = SHARED / "docs" / name
    if not path.is_file():
        pytest.skip(f"shared spec not present at {path} (clone outside the shared set-up)")
    return path.read_text(encoding="utf-8")


def _section(doc: str, heading: str) -> str:
    """The text under a heading that starts with `heading`, up to the next heading of any level."""
    match = re.search(rf"^#+ {re.escape(heading)}.*?$(.*?)(?=^#+ |\Z)", doc, re.MULTILINE | re.DOTALL)
    assert match, f"heading {heading!r} not found in the doc"
    return match.group(1)


def _rows(section: str) -> list[list[str]]:
    rows = []
    for line in section.splitlines():
        if not line.startswith("|") or re.fullmatch(r"\|[-| ]+\|", line.strip()):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        rows.append(cells)
    return rows[1:]  # drop the header row


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _qualify(name: str, package: str) -> str:
    if name == "Timestamp":
        return "google.protobuf.Timestamp"
    return name if "." in name else f"{package}.{name}"


def _doc_type(cell: str, package: str) -> str:
    cell = re.sub(r"\(.*?\)", "", cell).strip()  # "(cvms package)", "(non-chunked ...)"
    repeated = cell.startswith("repeated ")
    cell = cell.removeprefix("repeated ").strip()
    names = _ticked(cell)
    base = _qualify(names[0], package) if names else cell.split()[0]
    return f"repeated {base}" if repeated else base


def parse_doc_services(doc: str) -> Services:
    table: Services = {}
    package = service = ""
    for cells in _rows(_section(doc, "2. Protobuf packages")):
        package = (_ticked(cells[0]) or [package])[0]
        service = (_ticked(cells[1]) or [service])[0]
        if package == "grpc.health.v1":  # served by the agent, not defined by us
            continue
        request, response = re.split(r"→|↔", cells[4])
        types = [_qualify(_ticked(part)[0].removeprefix("stream "), package) for part in (request, response)]
        table.setdefault(f"{package}.{service}", []).append((_ticked(cells[2])[0], cells[3], *types))
    return table


def _parse_field_table(section: str, package: str, table: Messages) -> None:
    message = ""
    for cells in _rows(section):
        message = (_ticked(cells[0]) or [message])[0]
        fields = table.setdefault(f"{package}.{message}", [])
        if cells[1] in ("–", "-"):
            continue
        fields.append((_ticked(cells[1])[0], int(cells[2].strip("*")), _doc_type(cells[3], package)))


def _parse_cvms_table(section: str, table: Messages) -> None:
    message = oneof = ""
    for cells in _rows(section):
        if cells[0]:
            names = _ticked(cells[0])
            message = names[0]
            oneof = next((n.removeprefix("oneof ") for n in names[1:] if n.startswith("oneof ")), "")
        fields = table.setdefault(f"cvms.{message}", [])
        if cells[1].startswith("`") and cells[2]:  # one field per row (the oneof messages)
            kind = _doc_type(cells[3], "cvms")
            fields.append((_ticked(cells[1])[0], int(cells[2]), f"oneof:{oneof} {kind}" if oneof else kind))
            continue
        for name, number, kind in re.findall(r"`(\w+)` (\d+) (\w+)", cells[1]):
            fields.append((name, int(number), _qualify(kind, "cvms") if kind[0].isupper() else kind))


def parse_doc_messages(doc: str) -> Messages:
    table: Messages = {}
    _parse_field_table(_section(doc, "3.1 Message definitions"), "agent", table)
    _parse_field_table(_section(doc, "6.1 `cvms.ComputationRunReq`"), "cvms", table)
    _parse_cvms_table(_section(doc, "8.2 Messages"), table)
    _parse_field_table(_section(doc, "9. `manager.ManagerService`"), "manager", table)
    return table


# --- the checks -----------------------------------------------------------------------------

def _diff(expected: dict, actual: dict) -> list[str]:
    problems = [f"missing: {k}" for k in expected if k not in actual]
    problems += [f"unexpected: {k}" for k in actual if k not in expected]
    problems += [f"{k}: expected {expected[k]}, got {actual[k]}" for k in expected if k in actual and expected[k] != actual[k]]
    return problems


def test_descriptor_messages_match_the_embedded_table():
    assert _diff(EXPECTED_MESSAGES, descriptor_messages()) == []


def test_descriptor_services_match_the_embedded_table():
    assert _diff(EXPECTED_SERVICES, descriptor_services()) == []


def test_embedded_table_covers_every_documented_message():
    # 12 agent + 7 manifest + 13 cvms stream + 7 manager messages, 11 methods
    assert len(EXPECTED_MESSAGES) == 39
    assert sum(len(methods) for methods in EXPECTED_SERVICES.values()) == 11


def test_doc_services_match_the_embedded_table_and_descriptors():
    parsed = parse_doc_services(shared_doc("COCOS-PROTOCOL.md"))
    assert sum(len(methods) for methods in parsed.values()) == 11
    assert _diff(parsed, EXPECTED_SERVICES) == []
    assert _diff(parsed, descriptor_services()) == []


def test_doc_messages_match_the_embedded_table_and_descriptors():
    parsed = parse_doc_messages(shared_doc("COCOS-PROTOCOL.md"))
    assert len(parsed) == 39
    assert _diff(parsed, EXPECTED_MESSAGES) == []
    assert _diff(parsed, descriptor_messages()) == []


def test_comparison_catches_a_wrong_field_number():
    # The checks above must be able to fail: a one-number drift is reported by name.
    drifted = {**EXPECTED_MESSAGES, "agent.AttestationTokenRequest": [("tokenNonce", 1, "bytes"), ("type", 2, "int32")]}
    assert _diff(drifted, descriptor_messages()) == [
        "agent.AttestationTokenRequest: expected [('tokenNonce', 1, 'bytes'), ('type', 2, 'int32')], "
        "got [('tokenNonce', 1, 'bytes'), ('type', 3, 'int32')]"
    ]


def test_packages_and_go_packages_are_as_documented():
    for package, module in _MODULES.items():
        assert module.DESCRIPTOR.package == package
        source = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(source)
        assert source.syntax == "proto3"
        assert module.DESCRIPTOR.GetOptions().go_package == f"./{package}"
    assert [d.name for d in manager_pb2.DESCRIPTOR.dependencies] == ["google/protobuf/empty.proto"]
    assert [d.name for d in cvms_pb2.DESCRIPTOR.dependencies] == ["google/protobuf/timestamp.proto"]
    assert agent_pb2.DESCRIPTOR.dependencies == []


class _RecordingChannel:
    """Stands in for a grpc.Channel and records which multi-callable each stub method asks for."""

    def __init__(self) -> None:
        self.calls: dict[str, str] = {}

    def __getattr__(self, kind: str):
        def factory(path: str, **_options):
            self.calls[path] = kind
            return object()

        return factory


@pytest.mark.parametrize(
    ("stub_class", "service"),
    [
        (agent_pb2_grpc.AgentServiceStub, "agent.AgentService"),
        (manager_pb2_grpc.ManagerServiceStub, "manager.ManagerService"),
        (cvms_pb2_grpc.ServiceStub, "cvms.Service"),
    ],
)
def test_generated_stubs_use_the_documented_paths_and_kinds(stub_class, service):
    channel = _RecordingChannel()
    stub_class(channel)
    callable_kind = {
        "unary": "unary_unary",
        "client-streaming": "stream_unary",
        "server-streaming": "unary_stream",
        "bidirectional": "stream_stream",
    }
    expected = {path: callable_kind[kind] for path, kind, _req, _res in EXPECTED_SERVICES[service]}
    assert channel.calls == expected


def test_doc_parser_reports_a_drift_in_the_doc():
    doc = shared_doc("COCOS-PROTOCOL.md")
    original = "| | `type` | **3** | int32 |"
    assert original in doc
    drifted = parse_doc_messages(doc.replace(original, "| | `type` | **2** | int32 |"))
    assert _diff(drifted, EXPECTED_MESSAGES) == [
        "agent.AttestationTokenRequest: expected [('tokenNonce', 1, 'bytes'), ('type', 2, 'int32')], "
        "got [('tokenNonce', 1, 'bytes'), ('type', 3, 'int32')]"
    ]
