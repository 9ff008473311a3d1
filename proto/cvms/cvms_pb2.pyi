import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ClientStreamMessage(_message.Message):
    __slots__ = ("agent_log", "agent_event", "run_res", "stopComputationRes", "agentStateRes", "vTPMattestationReport", "azureAttestationToken")
    AGENT_LOG_FIELD_NUMBER: _ClassVar[int]
    AGENT_EVENT_FIELD_NUMBER: _ClassVar[int]
    RUN_RES_FIELD_NUMBER: _ClassVar[int]
    STOPCOMPUTATIONRES_FIELD_NUMBER: _ClassVar[int]
    AGENTSTATERES_FIELD_NUMBER: _ClassVar[int]
    VTPMATTESTATIONREPORT_FIELD_NUMBER: _ClassVar[int]
    AZUREATTESTATIONTOKEN_FIELD_NUMBER: _ClassVar[int]
    agent_log: AgentLog
    agent_event: AgentEvent
    run_res: RunResponse
    stopComputationRes: StopComputationResponse
    agentStateRes: AgentStateRes
    vTPMattestationReport: AttestationResponse
    azureAttestationToken: azureAttestationToken
    def __init__(self, agent_log: _Optional[_Union[AgentLog, _Mapping]] = ..., agent_event: _Optional[_Union[AgentEvent, _Mapping]] = ..., run_res: _Optional[_Union[RunResponse, _Mapping]] = ..., stopComputationRes: _Optional[_Union[StopComputationResponse, _Mapping]] = ..., agentStateRes: _Optional[_Union[AgentStateRes, _Mapping]] = ..., vTPMattestationReport: _Optional[_Union[AttestationResponse, _Mapping]] = ..., azureAttestationToken: _Optional[_Union[azureAttestationToken, _Mapping]] = ...) -> None: ...

class ServerStreamMessage(_message.Message):
    __slots__ = ("runReqChunks", "runReq", "stopComputation", "agentStateReq", "disconnectReq")
    RUNREQCHUNKS_FIELD_NUMBER: _ClassVar[int]
    RUNREQ_FIELD_NUMBER: _ClassVar[int]
    STOPCOMPUTATION_FIELD_NUMBER: _ClassVar[int]
    AGENTSTATEREQ_FIELD_NUMBER: _ClassVar[int]
    DISCONNECTREQ_FIELD_NUMBER: _ClassVar[int]
    runReqChunks: RunReqChunks
    runReq: ComputationRunReq
    stopComputation: StopComputation
    agentStateReq: AgentStateReq
    disconnectReq: DisconnectReq
    def __init__(self, runReqChunks: _Optional[_Union[RunReqChunks, _Mapping]] = ..., runReq: _Optional[_Union[ComputationRunReq, _Mapping]] = ..., stopComputation: _Optional[_Union[StopComputation, _Mapping]] = ..., agentStateReq: _Optional[_Union[AgentStateReq, _Mapping]] = ..., disconnectReq: _Optional[_Union[DisconnectReq, _Mapping]] = ...) -> None: ...

class RunReqChunks(_message.Message):
    __slots__ = ("data", "id", "is_last")
    DATA_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    IS_LAST_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    id: str
    is_last: bool
    def __init__(self, data: _Optional[bytes] = ..., id: _Optional[str] = ..., is_last: _Optional[bool] = ...) -> None: ...

class ComputationRunReq(_message.Message):
    __slots__ = ("id", "name", "description", "datasets", "algorithm", "result_consumers", "agent_config")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    RESULT_CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    AGENT_CONFIG_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    datasets: _containers.RepeatedCompositeFieldContainer[Dataset]
    algorithm: Algorithm
    result_consumers: _containers.RepeatedCompositeFieldContainer[ResultConsumer]
    agent_config: AgentConfig
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., datasets: _Optional[_Iterable[_Union[Dataset, _Mapping]]] = ..., algorithm: _Optional[_Union[Algorithm, _Mapping]] = ..., result_consumers: _Optional[_Iterable[_Union[ResultConsumer, _Mapping]]] = ..., agent_config: _Optional[_Union[AgentConfig, _Mapping]] = ...) -> None: ...

class Dataset(_message.Message):
    __slots__ = ("hash", "userKey", "filename", "source", "decompress", "kbs")
    HASH_FIELD_NUMBER: _ClassVar[int]
    USERKEY_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DECOMPRESS_FIELD_NUMBER: _ClassVar[int]
    KBS_FIELD_NUMBER: _ClassVar[int]
    hash: bytes
    userKey: bytes
    filename: str
    source: Source
    decompress: bool
    kbs: KBSConfig
    def __init__(self, hash: _Optional[bytes] = ..., userKey: _Optional[bytes] = ..., filename: _Optional[str] = ..., source: _Optional[_Union[Source, _Mapping]] = ..., decompress: _Optional[bool] = ..., kbs: _Optional[_Union[KBSConfig, _Mapping]] = ...) -> None: ...

class Algorithm(_message.Message):
    __slots__ = ("hash", "userKey", "source", "algo_type", "algo_args", "kbs")
    HASH_FIELD_NUMBER: _ClassVar[int]
    USERKEY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ALGO_TYPE_FIELD_NUMBER: _ClassVar[int]
    ALGO_ARGS_FIELD_NUMBER: _ClassVar[int]
    KBS_FIELD_NUMBER: _ClassVar[int]
    hash: bytes
    userKey: bytes
    source: Source
    algo_type: str
    algo_args: _containers.RepeatedScalarFieldContainer[str]
    kbs: KBSConfig
    def __init__(self, hash: _Optional[bytes] = ..., userKey: _Optional[bytes] = ..., source: _Optional[_Union[Source, _Mapping]] = ..., algo_type: _Optional[str] = ..., algo_args: _Optional[_Iterable[str]] = ..., kbs: _Optional[_Union[KBSConfig, _Mapping]] = ...) -> None: ...

class ResultConsumer(_message.Message):
    __slots__ = ("userKey",)
    USERKEY_FIELD_NUMBER: _ClassVar[int]
    userKey: bytes
    def __init__(self, userKey: _Optional[bytes] = ...) -> None: ...

class Source(_message.Message):
    __slots__ = ("type", "url", "kbs_resource_path", "encrypted")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    KBS_RESOURCE_PATH_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    type: str
    url: str
    kbs_resource_path: str
    encrypted: bool
    def __init__(self, type: _Optional[str] = ..., url: _Optional[str] = ..., kbs_resource_path: _Optional[str] = ..., encrypted: _Optional[bool] = ...) -> None: ...

class KBSConfig(_message.Message):
    __slots__ = ("url", "enabled")
    URL_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    url: str
    enabled: bool
    def __init__(self, url: _Optional[str] = ..., enabled: _Optional[bool] = ...) -> None: ...

class AgentConfig(_message.Message):
    __slots__ = ("port", "cert_file", "key_file", "client_ca_file", "server_ca_file", "log_level", "attested_tls")
    PORT_FIELD_NUMBER: _ClassVar[int]
    CERT_FILE_FIELD_NUMBER: _ClassVar[int]
    KEY_FILE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CA_FILE_FIELD_NUMBER: _ClassVar[int]
    SERVER_CA_FILE_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    ATTESTED_TLS_FIELD_NUMBER: _ClassVar[int]
    port: str
    cert_file: str
    key_file: str
    client_ca_file: str
    server_ca_file: str
    log_level: str
    attested_tls: bool
    def __init__(self, port: _Optional[str] = ..., cert_file: _Optional[str] = ..., key_file: _Optional[str] = ..., client_ca_file: _Optional[str] = ..., server_ca_file: _Optional[str] = ..., log_level: _Optional[str] = ..., attested_tls: _Optional[bool] = ...) -> None: ...

class AgentLog(_message.Message):
    __slots__ = ("message", "computation_id", "level", "timestamp")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    COMPUTATION_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    message: str
    computation_id: str
    level: str
    timestamp: _timestamp_pb2.Timestamp
    def __init__(self, message: _Optional[str] = ..., computation_id: _Optional[str] = ..., level: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AgentEvent(_message.Message):
    __slots__ = ("event_type", "timestamp", "computation_id", "details", "originator", "status")
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    COMPUTATION_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    ORIGINATOR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    event_type: str
    timestamp: _timestamp_pb2.Timestamp
    computation_id: str
    details: bytes
    originator: str
    status: str
    def __init__(self, event_type: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., computation_id: _Optional[str] = ..., details: _Optional[bytes] = ..., originator: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class RunResponse(_message.Message):
    __slots__ = ("computation_id", "error")
    COMPUTATION_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    computation_id: str
    error: str
    def __init__(self, computation_id: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class StopComputation(_message.Message):
    __slots__ = ("computation_id",)
    COMPUTATION_ID_FIELD_NUMBER: _ClassVar[int]
    computation_id: str
    def __init__(self, computation_id: _Optional[str] = ...) -> None: ...

class StopComputationResponse(_message.Message):
    __slots__ = ("computation_id", "message")
    COMPUTATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    computation_id: str
    message: str
    def __init__(self, computation_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class AgentStateReq(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class AgentStateRes(_message.Message):
    __slots__ = ("id", "state")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: str
    def __init__(self, id: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class DisconnectReq(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class AttestationResponse(_message.Message):
    __slots__ = ("file", "certSerialNumber")
    FILE_FIELD_NUMBER: _ClassVar[int]
    CERTSERIALNUMBER_FIELD_NUMBER: _ClassVar[int]
    file: bytes
    certSerialNumber: str
    def __init__(self, file: _Optional[bytes] = ..., certSerialNumber: _Optional[str] = ...) -> None: ...

class azureAttestationToken(_message.Message):
    __slots__ = ("file", "certSerialNumber")
    FILE_FIELD_NUMBER: _ClassVar[int]
    CERTSERIALNUMBER_FIELD_NUMBER: _ClassVar[int]
    file: bytes
    certSerialNumber: str
    def __init__(self, file: _Optional[bytes] = ..., certSerialNumber: _Optional[str] = ...) -> None: ...
