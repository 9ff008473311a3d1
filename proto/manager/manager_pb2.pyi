from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CreateReq(_message.Message):
    __slots__ = ("agent_log_level", "agent_cvm_server_ca_cert", "agent_cvm_client_key", "agent_cvm_client_cert", "agent_cvm_server_url", "agent_cvm_ca_url", "ttl", "agent_certs_token", "aws_access_key_id", "aws_secret_access_key", "aws_endpoint_url", "aws_region", "aa_kbs_params")
    AGENT_LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    AGENT_CVM_SERVER_CA_CERT_FIELD_NUMBER: _ClassVar[int]
    AGENT_CVM_CLIENT_KEY_FIELD_NUMBER: _ClassVar[int]
    AGENT_CVM_CLIENT_CERT_FIELD_NUMBER: _ClassVar[int]
    AGENT_CVM_SERVER_URL_FIELD_NUMBER: _ClassVar[int]
    AGENT_CVM_CA_URL_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    AGENT_CERTS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AWS_ACCESS_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    AWS_SECRET_ACCESS_KEY_FIELD_NUMBER: _ClassVar[int]
    AWS_ENDPOINT_URL_FIELD_NUMBER: _ClassVar[int]
    AWS_REGION_FIELD_NUMBER: _ClassVar[int]
    AA_KBS_PARAMS_FIELD_NUMBER: _ClassVar[int]
    agent_log_level: str
    agent_cvm_server_ca_cert: bytes
    agent_cvm_client_key: bytes
    agent_cvm_client_cert: bytes
    agent_cvm_server_url: str
    agent_cvm_ca_url: str
    ttl: str
    agent_certs_token: str
    aws_access_key_id: str
    aws_secret_access_key: str
    aws_endpoint_url: str
    aws_region: str
    aa_kbs_params: str
    def __init__(self, agent_log_level: _Optional[str] = ..., agent_cvm_server_ca_cert: _Optional[bytes] = ..., agent_cvm_client_key: _Optional[bytes] = ..., agent_cvm_client_cert: _Optional[bytes] = ..., agent_cvm_server_url: _Optional[str] = ..., agent_cvm_ca_url: _Optional[str] = ..., ttl: _Optional[str] = ..., agent_certs_token: _Optional[str] = ..., aws_access_key_id: _Optional[str] = ..., aws_secret_access_key: _Optional[str] = ..., aws_endpoint_url: _Optional[str] = ..., aws_region: _Optional[str] = ..., aa_kbs_params: _Optional[str] = ...) -> None: ...

class CreateRes(_message.Message):
    __slots__ = ("forwarded_port", "cvm_id")
    FORWARDED_PORT_FIELD_NUMBER: _ClassVar[int]
    CVM_ID_FIELD_NUMBER: _ClassVar[int]
    forwarded_port: str
    cvm_id: str
    def __init__(self, forwarded_port: _Optional[str] = ..., cvm_id: _Optional[str] = ...) -> None: ...

class RemoveReq(_message.Message):
    __slots__ = ("cvm_id",)
    CVM_ID_FIELD_NUMBER: _ClassVar[int]
    cvm_id: str
    def __init__(self, cvm_id: _Optional[str] = ...) -> None: ...

class CVMInfoReq(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CVMInfoRes(_message.Message):
    __slots__ = ("id", "ovmf_version", "cpu_num", "cpu_type", "kernel_cmd", "eos_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    OVMF_VERSION_FIELD_NUMBER: _ClassVar[int]
    CPU_NUM_FIELD_NUMBER: _ClassVar[int]
    CPU_TYPE_FIELD_NUMBER: _ClassVar[int]
    KERNEL_CMD_FIELD_NUMBER: _ClassVar[int]
    EOS_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    ovmf_version: str
    cpu_num: int
    cpu_type: str
    kernel_cmd: str
    eos_version: str
    def __init__(self, id: _Optional[str] = ..., ovmf_version: _Optional[str] = ..., cpu_num: _Optional[int] = ..., cpu_type: _Optional[str] = ..., kernel_cmd: _Optional[str] = ..., eos_version: _Optional[str] = ...) -> None: ...

class AttestationPolicyReq(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class AttestationPolicyRes(_message.Message):
    __slots__ = ("info", "id")
    INFO_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    info: bytes
    id: str
    def __init__(self, info: _Optional[bytes] = ..., id: _Optional[str] = ...) -> None: ...
