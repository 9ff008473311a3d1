"""The computation a set of participants agrees to run: the model behind the Cocos manifest.

The shape mirrors ``cvms.ComputationRunReq`` (COCOS-PROTOCOL.md §6.1) field for field.
``source``, ``kbs``, ``algorithm`` and ``agent_config`` are ``None`` when the message is
absent: the agent's PCR16 JSON writes a present-but-empty sub-message as ``{}`` and omits an
absent one, so presence is part of what participants sign (§6.2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.errors import BadInput, Refused

#: a Cocos content hash is SHA3-256 (§7.1); the agent panics on any other length (§14 #2)
HASH_SIZE = 32


class ManifestError(BadInput):
    """A manifest (protobuf, JSON or model) that is malformed."""

    code = "bad-manifest"


class ManifestIncomplete(Refused):
    """A well-formed computation that the agent could not run as it stands."""

    code = "manifest-incomplete"


def _require(value: Any, kind: type | tuple[type, ...], where: str, expected: str) -> None:
    if not isinstance(value, kind):
        raise ManifestError(f"{where} must be {expected}, not {type(value).__name__}")


def _as_bytes(value: Any, where: str) -> bytes:
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    _require(value, bytes, where, "bytes")
    return value


def _as_hash(value: Any, where: str) -> bytes:
    digest = _as_bytes(value, where)
    if len(digest) != HASH_SIZE:
        raise ManifestError(
            f"{where} is {len(digest)} bytes; it must be the 32-byte SHA3-256 of the file "
            "(recompute it with the dataset/algorithm hashing tool)"
        )
    return digest


def _as_strings(values: Iterable[Any], where: str) -> tuple[str, ...]:
    if isinstance(values, (str, bytes)):
        raise ManifestError(f"{where} must be a list of strings, not a single {type(values).__name__}")
    try:
        items = tuple(values)
    except TypeError:
        raise ManifestError(f"{where} must be a list of strings, not {type(values).__name__}") from None
    for index, item in enumerate(items):
        _require(item, str, f"{where}[{index}]", "a string")
    return items


def _as_items(values: Iterable[Any], kind: type, where: str) -> tuple[Any, ...]:
    try:
        items = tuple(values)
    except TypeError:
        raise ManifestError(f"{where} must be a list of {kind.__name__}, not {type(values).__name__}") from None
    for index, item in enumerate(items):
        _require(item, kind, f"{where}[{index}]", f"a {kind.__name__}")
    return items


def _check_fields(obj: Any, where: str, strings: tuple[str, ...], flags: tuple[str, ...] = ()) -> None:
    for name in strings:
        _require(getattr(obj, name), str, f"{where}.{name}", "a string")
    for name in flags:
        _require(getattr(obj, name), bool, f"{where}.{name}", "true or false")


def _check_optional(obj: Any, name: str, kind: type, where: str) -> None:
    value = getattr(obj, name)
    if value is not None:
        _require(value, kind, f"{where}.{name}", f"a {kind.__name__} or None")


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """Where the agent pulls a remote asset from (``cvms.Source``)."""

    type: str = ""  # oci-image, s3, gcs, https, http; never copied into the agent's model
    url: str = ""
    kbs_resource_path: str = ""
    encrypted: bool = False

    def __post_init__(self) -> None:
        _check_fields(self, "source", ("type", "url", "kbs_resource_path"), ("encrypted",))


@dataclass(frozen=True, slots=True, kw_only=True)
class KBSConfig:
    """The key broker the agent asks for a decryption key (``cvms.KBSConfig``)."""

    url: str = ""
    enabled: bool = False

    def __post_init__(self) -> None:
        _check_fields(self, "kbs", ("url",), ("enabled",))


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """One dataset and the key of the provider allowed to upload it (``cvms.Dataset``)."""

    hash: bytes
    user_key: bytes = b""  # DER SubjectPublicKeyInfo
    filename: str = ""
    source: Source | None = None
    decompress: bool = False
    kbs: KBSConfig | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hash", _as_hash(self.hash, "dataset hash"))
        object.__setattr__(self, "user_key", _as_bytes(self.user_key, "dataset user_key"))
        _check_fields(self, "dataset", ("filename",), ("decompress",))
        _check_optional(self, "source", Source, "dataset")
        _check_optional(self, "kbs", KBSConfig, "dataset")


@dataclass(frozen=True, slots=True, kw_only=True)
class Algorithm:
    """The algorithm and the key of its provider (``cvms.Algorithm``)."""

    hash: bytes
    user_key: bytes = b""  # DER SubjectPublicKeyInfo
    source: Source | None = None
    algo_type: str = ""  # only read for remote algorithms; uploads carry it as metadata
    algo_args: tuple[str, ...] = ()
    kbs: KBSConfig | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hash", _as_hash(self.hash, "algorithm hash"))
        object.__setattr__(self, "user_key", _as_bytes(self.user_key, "algorithm user_key"))
        object.__setattr__(self, "algo_args", _as_strings(self.algo_args, "algorithm algo_args"))
        _check_fields(self, "algorithm", ("algo_type",))
        _check_optional(self, "source", Source, "algorithm")
        _check_optional(self, "kbs", KBSConfig, "algorithm")


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultConsumer:
    """A participant allowed to download the result (``cvms.ResultConsumer``)."""

    user_key: bytes = b""  # DER SubjectPublicKeyInfo

    def __post_init__(self) -> None:
        object.__setattr__(self, "user_key", _as_bytes(self.user_key, "result consumer user_key"))


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConfig:
    """How the agent serves participants (``cvms.AgentConfig``, §11).

    The agent ignores ``port`` (always 7002) and ``log_level``; file fields hold PEM content
    or a path inside the CVM.
    """

    port: str = ""
    cert_file: str = ""
    key_file: str = ""
    client_ca_file: str = ""
    server_ca_file: str = ""
    log_level: str = ""
    attested_tls: bool = False

    def __post_init__(self) -> None:
        strings = ("port", "cert_file", "key_file", "client_ca_file", "server_ca_file", "log_level")
        _check_fields(self, "agent_config", strings, ("attested_tls",))


@dataclass(frozen=True, slots=True, kw_only=True)
class Computation:
    """A whole manifest (``cvms.ComputationRunReq``)."""

    id: str = ""
    name: str = ""
    description: str = ""
    datasets: tuple[Dataset, ...] = ()
    algorithm: Algorithm | None = None
    result_consumers: tuple[ResultConsumer, ...] = ()
    agent_config: AgentConfig | None = None

    def __post_init__(self) -> None:
        _check_fields(self, "computation", ("id", "name", "description"))
        object.__setattr__(self, "datasets", _as_items(self.datasets, Dataset, "datasets"))
        object.__setattr__(
            self, "result_consumers", _as_items(self.result_consumers, ResultConsumer, "result_consumers")
        )
        _check_optional(self, "algorithm", Algorithm, "computation")
        _check_optional(self, "agent_config", AgentConfig, "computation")

    def require_runnable(self) -> None:
        """Refuse what the agent cannot take: it panics on a manifest without an algorithm (§14 #2)."""
        if self.algorithm is None:
            raise ManifestIncomplete(
                f"computation {self.id or '(no id)'} has no algorithm; add the algorithm and its "
                "provider's key before sending the manifest to an agent"
            )


__all__ = [
    "HASH_SIZE",
    "Algorithm",
    "AgentConfig",
    "Computation",
    "Dataset",
    "KBSConfig",
    "ManifestError",
    "ManifestIncomplete",
    "ResultConsumer",
    "Source",
]
