"""The Go-compatible "Computation JSON" of COCOS-PROTOCOL.md §6.2.

The agent hashes this exact byte string into PCR16, and ``cocos-cli checksum --manifest``
hashes it for the manifest checksum, so every byte matters: fixed key order, no whitespace,
Go ``encoding/json`` string escaping, hashes as integer arrays, ``omitempty`` rules, and
present-but-empty sub-messages as ``{}``.
"""

from __future__ import annotations

import base64

from core.cocos.computation import AgentConfig, Algorithm, Computation, Dataset, KBSConfig, Source

# Go escapes HTML-significant characters and the JavaScript line separators by default.
_GO_ESCAPES: dict[int, str] = {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    ord("\b"): "\\b",
    ord("\f"): "\\f",
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}
for _code in range(0x20):
    _GO_ESCAPES.setdefault(_code, f"\\u{_code:04x}")
# A Python str can hold lone surrogates (from a JSON "\ud800" escape, for one); Go's decoder
# turns those into U+FFFD, and U+FFFD is then written as raw UTF-8.
for _code in range(0xD800, 0xE000):
    _GO_ESCAPES[_code] = "\ufffd"
del _code


def go_string(value: str) -> bytes:
    """A JSON string literal exactly as Go's ``json.Marshal`` writes it."""
    return b'"' + value.translate(_GO_ESCAPES).encode("utf-8") + b'"'


def _b64(value: bytes) -> bytes:
    return go_string(base64.b64encode(value).decode("ascii"))


def _hash(value: bytes) -> bytes:
    # Go marshals [32]byte as an array of numbers; only []byte becomes base64.
    return b"[" + b",".join(str(octet).encode("ascii") for octet in value) + b"]"


def _object(members: list[tuple[str, bytes]]) -> bytes:
    return b"{" + b",".join(go_string(key) + b":" + value for key, value in members) + b"}"


def _add_string(members: list[tuple[str, bytes]], key: str, value: str) -> None:
    if value:
        members.append((key, go_string(value)))


def _add_true(members: list[tuple[str, bytes]], key: str, value: bool) -> None:
    if value:
        members.append((key, b"true"))


def _add_bytes(members: list[tuple[str, bytes]], key: str, value: bytes) -> None:
    if value:
        members.append((key, _b64(value)))


def _source(source: Source, for_pcr16: bool) -> bytes:
    members: list[tuple[str, bytes]] = []
    if not for_pcr16:  # the agent does not copy Source.type into its model
        _add_string(members, "type", source.type)
    _add_string(members, "url", source.url)
    _add_string(members, "kbs_resource_path", source.kbs_resource_path)
    _add_true(members, "encrypted", source.encrypted)
    return _object(members)


def _kbs(kbs: KBSConfig) -> bytes:
    members: list[tuple[str, bytes]] = []
    _add_string(members, "url", kbs.url)
    _add_true(members, "enabled", kbs.enabled)
    return _object(members)


def _dataset(dataset: Dataset, for_pcr16: bool) -> bytes:
    members: list[tuple[str, bytes]] = [("hash", _hash(dataset.hash))]
    _add_bytes(members, "user_key", dataset.user_key)
    _add_string(members, "filename", dataset.filename)
    if dataset.source is not None:
        members.append(("source", _source(dataset.source, for_pcr16)))
    _add_true(members, "decompress", dataset.decompress)
    if dataset.kbs is not None:
        members.append(("kbs", _kbs(dataset.kbs)))
    return _object(members)


def _algorithm(algorithm: Algorithm, for_pcr16: bool) -> bytes:
    members: list[tuple[str, bytes]] = [("hash", _hash(algorithm.hash))]
    _add_bytes(members, "user_key", algorithm.user_key)
    if algorithm.source is not None:
        members.append(("source", _source(algorithm.source, for_pcr16)))
    _add_string(members, "algo_type", algorithm.algo_type)
    if algorithm.algo_args:
        members.append(("algo_args", b"[" + b",".join(go_string(arg) for arg in algorithm.algo_args) + b"]"))
    if algorithm.kbs is not None:
        members.append(("kbs", _kbs(algorithm.kbs)))
    return _object(members)


def _computation_members(computation: Computation, for_pcr16: bool) -> list[tuple[str, bytes]]:
    members: list[tuple[str, bytes]] = []
    _add_string(members, "id", computation.id)
    _add_string(members, "name", computation.name)
    _add_string(members, "description", computation.description)
    if computation.datasets:
        members.append(("datasets", b"[" + b",".join(_dataset(d, for_pcr16) for d in computation.datasets) + b"]"))
    if computation.algorithm is not None:
        members.append(("algorithm", _algorithm(computation.algorithm, for_pcr16)))
    if computation.result_consumers:
        consumers = [_object(_user_key(c.user_key)) for c in computation.result_consumers]
        members.append(("result_consumers", b"[" + b",".join(consumers) + b"]"))
    return members


def _user_key(value: bytes) -> list[tuple[str, bytes]]:
    members: list[tuple[str, bytes]] = []
    _add_bytes(members, "user_key", value)
    return members


def go_json(computation: Computation, *, for_pcr16: bool = False) -> bytes:
    """The compact Go-JSON of §6.2 (``agent_config`` is never part of it).

    ``for_pcr16=True`` gives the agent's own form, which leaves out ``source.type``;
    the default is what ``cocos-cli checksum --manifest`` writes.
    """
    return _object(_computation_members(computation, for_pcr16))


def agent_config_json(config: AgentConfig) -> bytes:
    """``agent_config`` in the same style, for our own manifest files only."""
    members: list[tuple[str, bytes]] = []
    for key in ("port", "cert_file", "key_file", "client_ca_file", "server_ca_file", "log_level"):
        _add_string(members, key, getattr(config, key))
    _add_true(members, "attested_tls", config.attested_tls)
    return _object(members)


def go_json_with_agent_config(computation: Computation) -> bytes:
    """The §6.2 form plus ``agent_config`` (when present) last: our on-disk manifest form."""
    members = _computation_members(computation, for_pcr16=False)
    if computation.agent_config is not None:
        members.append(("agent_config", agent_config_json(computation.agent_config)))
    return _object(members)
