from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class AlgoRequest(_message.Message):
    __slots__ = ("algorithm", "requirements")
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    algorithm: bytes
    requirements: bytes
    def __init__(self, algorithm: _Optional[bytes] = ..., requirements: _Optional[bytes] = ...) -> None: ...

class AlgoResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DataRequest(_message.Message):
    __slots__ = ("dataset", "filename")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    dataset: bytes
    filename: str
    def __init__(self, dataset: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class DataResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResultRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResultResponse(_message.Message):
    __slots__ = ("file",)
    FILE_FIELD_NUMBER: _ClassVar[int]
    file: bytes
    def __init__(self, file: _Optional[bytes] = ...) -> None: ...

class AttestationRequest(_message.Message):
    __slots__ = ("teeNonce", "vtpmNonce", "type")
    TEENONCE_FIELD_NUMBER: _ClassVar[int]
    VTPMNONCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    teeNonce: bytes
    vtpmNonce: bytes
    type: int
    def __init__(self, teeNonce: _Optional[bytes] = ..., vtpmNonce: _Optional[bytes] = ..., type: _Optional[int] = ...) -> None: ...

class AttestationResponse(_message.Message):
    __slots__ = ("file",)
    FILE_FIELD_NUMBER: _ClassVar[int]
    file: bytes
    def __init__(self, file: _Optional[bytes] = ...) -> None: ...

class IMAMeasurementsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class IMAMeasurementsResponse(_message.Message):
    __slots__ = ("file", "pcr10")
    FILE_FIELD_NUMBER: _ClassVar[int]
    PCR10_FIELD_NUMBER: _ClassVar[int]
    file: bytes
    pcr10: bytes
    def __init__(self, file: _Optional[bytes] = ..., pcr10: _Optional[bytes] = ...) -> None: ...

class AttestationTokenRequest(_message.Message):
    __slots__ = ("tokenNonce", "type")
    TOKENNONCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    tokenNonce: bytes
    type: int
    def __init__(self, tokenNonce: _Optional[bytes] = ..., type: _Optional[int] = ...) -> None: ...

class AttestationTokenResponse(_message.Message):
    __slots__ = ("file",)
    FILE_FIELD_NUMBER: _ClassVar[int]
    file: bytes
    def __init__(self, file: _Optional[bytes] = ...) -> None: ...
