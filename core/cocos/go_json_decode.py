"""Read Computation JSON the way Go's ``encoding/json`` reads it into the agent's structs.

``cocos-cli checksum --manifest`` decodes a file into Go structs and re-encodes it, so to
reproduce its checksum we decode with Go's rules (COCOS-PROTOCOL.md §6.2):

* key matching is exact or case-insensitive under Go's folding (which also folds the
  Kelvin sign, long s and the Turkish i's onto ASCII letters); unknown keys are dropped;
* a repeated key is applied again in order: the last scalar wins and objects merge;
* JSON ``null`` clears a list or sub-object and leaves a string, bool or hash untouched;
* invalid UTF-8 inside strings becomes one U+FFFD per bad byte;
* ``user_key`` is std-b64 (line breaks ignored) or, as Go also allows, an array of bytes.

We are stricter than Go in one place on purpose: a ``hash`` must be present and be exactly
32 integers 0-255 (Go would zero-fill), because such a manifest crashes the agent.
"""

from __future__ import annotations

import binascii
import codecs
import json
from collections.abc import Callable
from typing import Any

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

_GO_REPLACE = "prism-go-json-replace"


def _replace_each_byte(error: UnicodeError) -> tuple[str, int]:
    # Go's utf8.DecodeRune consumes one byte per invalid sequence, so each byte of a bad
    # run becomes its own U+FFFD (Python's "replace" would merge a truncated sequence).
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "\ufffd" * (error.end - error.start), error.end


codecs.register_error(_GO_REPLACE, _replace_each_byte)


class _Object(list):  # type: ignore[type-arg]
    """A JSON object kept as its (key, value) pairs, in order and with repeats."""


class _NotAByte:
    """A JSON number that cannot be a byte (a fraction, an exponent, -0, a huge integer)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _parse_int(text: str) -> int | _NotAByte:
    if text.startswith("-0") or len(text) > 6:  # also keeps Python's int-size limit out of reach
        return _NotAByte(text)
    return int(text)


def _reject_constant(name: str) -> Any:
    raise ManifestError(f"the manifest is not valid JSON: {name} is not a JSON value")


def _load(data: bytes) -> Any:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ManifestError(f"a manifest must be bytes, not {type(data).__name__}")
    text = bytes(data).decode("utf-8", errors=_GO_REPLACE)
    try:
        return json.loads(
            text,
            object_pairs_hook=_Object,
            parse_int=_parse_int,
            parse_float=_NotAByte,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as error:
        raise ManifestError(
            f"the manifest is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:
        raise ManifestError("the manifest is not usable JSON: it is nested too deeply") from None


_SPECIAL_FOLDS = {0x130: "I", 0x131: "I", 0x17F: "S", 0x212A: "K"}


def go_fold(key: str) -> str:
    """Go's key folding, restricted to what can equal an ASCII field name."""
    if key.isascii():
        return key.upper()
    return "".join(_SPECIAL_FOLDS.get(ord(c), c.upper() if c.isascii() else c) for c in key)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, _NotAByte)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an object" if isinstance(value, _Object) else "an array"


def _string(value: Any, current: Any, where: str) -> str:
    if value is None:
        return current if current is not None else ""
    if not isinstance(value, str):
        raise ManifestError(f"{where} must be a string, not {_describe(value)}")
    return value


def _bool(value: Any, current: Any, where: str) -> bool:
    if value is None:
        return bool(current)
    if not isinstance(value, bool):
        raise ManifestError(f"{where} must be true or false, not {_describe(value)}")
    return value


def _show(item: Any) -> str:
    if isinstance(item, _NotAByte):
        return item.text
    if item is None or isinstance(item, (bool, int)):
        return json.dumps(item)
    return _describe(item)


def _octets(values: list[Any], where: str) -> bytes:
    for index, item in enumerate(values):
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 255:
            raise ManifestError(f"{where}[{index}] is {_show(item)}; every element must be an integer 0-255")
    return bytes(values)


def _hash(value: Any, current: Any, where: str) -> bytes | None:
    if value is None:
        return current
    if isinstance(value, _Object) or not isinstance(value, list):
        raise ManifestError(
            f"{where} must be an array of 32 integers 0-255 (the SHA3-256 of the file), not {_describe(value)}"
        )
    if len(value) != HASH_SIZE:
        raise ManifestError(f"{where} has {len(value)} elements; a SHA3-256 hash has exactly 32")
    return _octets(value, where)


def _bytes(value: Any, current: Any, where: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, list) and not isinstance(value, _Object):
        return _octets(value, where)
    if not isinstance(value, str):
        raise ManifestError(f"{where} must be a base64 string, not {_describe(value)}")
    try:
        # Go's StdEncoding skips line breaks but is otherwise as strict as strict_mode.
        return binascii.a2b_base64(value.replace("\r", "").replace("\n", ""), strict_mode=True)
    except (binascii.Error, ValueError):
        raise ManifestError(f"{where} is not valid standard base64 (with = padding)") from None


def _strings(value: Any, current: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, _Object) or not isinstance(value, list):
        raise ManifestError(f"{where} must be an array of strings, not {_describe(value)}")
    return tuple(_string(item, "", f"{where}[{index}]") for index, item in enumerate(value))


_Decoder = Callable[[Any, Any, str], Any]
_Schema = dict[str, tuple[str, _Decoder]]


def _struct(schema: _Schema, value: Any, current: dict[str, Any] | None, where: str) -> dict[str, Any]:
    if isinstance(value, _Object):
        fields = dict(current) if current is not None else {}
        for key, item in value:
            spec = schema.get(go_fold(key))
            if spec is not None:
                name, decode = spec
                fields[name] = decode(item, fields.get(name), f"{where}.{name}" if where else name)
        return fields
    raise ManifestError(f"{where or 'the manifest'} must be a JSON object, not {_describe(value)}")


def _pointer(schema_name: str) -> _Decoder:
    def decode(value: Any, current: Any, where: str) -> dict[str, Any] | None:
        if value is None:
            return None  # Go sets a nil pointer: the sub-message becomes absent
        return _struct(_SCHEMAS[schema_name], value, current, where)

    return decode


def _list_of(schema_name: str) -> _Decoder:
    def decode(value: Any, current: Any, where: str) -> list[dict[str, Any]]:
        if value is None:
            return []
        if isinstance(value, _Object) or not isinstance(value, list):
            raise ManifestError(f"{where} must be an array of objects, not {_describe(value)}")
        schema = _SCHEMAS[schema_name]
        # A null element leaves Go's zero struct in place.
        return [
            {} if item is None else _struct(schema, item, None, f"{where}[{i}]") for i, item in enumerate(value)
        ]

    return decode


def _schema(*entries: tuple[str, _Decoder]) -> _Schema:
    return {name.upper(): (name, decode) for name, decode in entries}


_SCHEMAS: dict[str, _Schema] = {
    "source": _schema(("type", _string), ("url", _string), ("kbs_resource_path", _string), ("encrypted", _bool)),
    "kbs": _schema(("url", _string), ("enabled", _bool)),
    "dataset": _schema(
        ("hash", _hash), ("user_key", _bytes), ("filename", _string),
        ("source", _pointer("source")), ("decompress", _bool), ("kbs", _pointer("kbs")),
    ),
    "algorithm": _schema(
        ("hash", _hash), ("user_key", _bytes), ("source", _pointer("source")),
        ("algo_type", _string), ("algo_args", _strings), ("kbs", _pointer("kbs")),
    ),
    "consumer": _schema(("user_key", _bytes)),
    "agent_config": _schema(
        ("port", _string), ("cert_file", _string), ("key_file", _string), ("client_ca_file", _string),
        ("server_ca_file", _string), ("log_level", _string), ("attested_tls", _bool),
    ),
}
_COMPUTATION = _schema(
    ("id", _string), ("name", _string), ("description", _string), ("datasets", _list_of("dataset")),
    ("algorithm", _pointer("algorithm")), ("result_consumers", _list_of("consumer")),
)
_COMPUTATION_WITH_CONFIG = {**_COMPUTATION, **_schema(("agent_config", _pointer("agent_config")))}


def _hash_of(fields: dict[str, Any], where: str) -> bytes:
    digest = fields.get("hash")
    if digest is None:
        raise ManifestError(f"{where} has no \"hash\"; give the SHA3-256 of the file as 32 integers 0-255")
    return digest


def _optional(kind: type, fields: dict[str, Any] | None) -> Any:
    return None if fields is None else kind(**fields)


def _dataset(fields: dict[str, Any], where: str) -> Dataset:
    return Dataset(
        hash=_hash_of(fields, where),
        user_key=fields.get("user_key", b""),
        filename=fields.get("filename", ""),
        source=_optional(Source, fields.get("source")),
        decompress=fields.get("decompress", False),
        kbs=_optional(KBSConfig, fields.get("kbs")),
    )


def _algorithm(fields: dict[str, Any] | None) -> Algorithm | None:
    if fields is None:
        return None
    return Algorithm(
        hash=_hash_of(fields, "algorithm"),
        user_key=fields.get("user_key", b""),
        source=_optional(Source, fields.get("source")),
        algo_type=fields.get("algo_type", ""),
        algo_args=fields.get("algo_args", ()),
        kbs=_optional(KBSConfig, fields.get("kbs")),
    )


def decode_computation(data: bytes, *, with_agent_config: bool) -> Computation:
    """Decode Computation JSON; ``agent_config`` is read only for our own files."""
    document = _load(data)
    if document is None:  # Go: unmarshalling null into a struct leaves it empty
        return Computation()
    fields = _struct(_COMPUTATION_WITH_CONFIG if with_agent_config else _COMPUTATION, document, None, "")
    return Computation(
        id=fields.get("id", ""),
        name=fields.get("name", ""),
        description=fields.get("description", ""),
        datasets=tuple(_dataset(d, f"datasets[{i}]") for i, d in enumerate(fields.get("datasets", []))),
        algorithm=_algorithm(fields.get("algorithm")),
        result_consumers=tuple(ResultConsumer(**c) for c in fields.get("result_consumers", [])),
        agent_config=_optional(AgentConfig, fields.get("agent_config")),
    )
