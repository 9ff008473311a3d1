"""How a client reaches a Cocos agent or manager: one small factory per transport (§11).

Each transport is a frozen value with ``open(target) -> grpc.aio.Channel``. Clients never build
credentials themselves, so an attested-TLS transport can be added beside these without
touching the clients. ``open`` must be called inside a coroutine on the loop that will use
the channel (grpc.aio binds a channel to the running loop).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import grpc

from core.errors import BadInput

__all__ = [
    "CHANNEL_OPTIONS",
    "ChannelFactory",
    "ClientSettings",
    "MutualTlsTransport",
    "PlainTransport",
    "TlsTransport",
    "parse_go_duration",
    "server_credentials",
]

#: 1 MiB payloads plus framing stay far below this; it only guards against a runaway peer
_MAX_MESSAGE = 8 * 1024 * 1024
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
)


@runtime_checkable
class ChannelFactory(Protocol):
    def open(self, target: str) -> grpc.aio.Channel: ...


@dataclass(frozen=True, slots=True)
class PlainTransport:
    """HTTP/2 cleartext with prior knowledge (the agent's plain mode)."""

    def open(self, target: str) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)


def _options(target_name_override: str | None) -> tuple[tuple[str, int | str], ...]:
    if target_name_override:
        # The agent's certificate names the CVM, not the forwarded host:port we dial.
        return (*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", target_name_override))
    return CHANNEL_OPTIONS


def _require_pem(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes) or b"-----BEGIN " not in value:
        raise BadInput(f"the {what} is not PEM text (expected '-----BEGIN ...'); give the PEM file's content")
    return value


@dataclass(frozen=True, slots=True)
class TlsTransport:
    """TLS against ``ca_pem``; the server certificate must name the target (or the override)."""

    ca_pem: bytes
    target_name_override: str | None = None

    def __post_init__(self) -> None:
        _require_pem(self.ca_pem, "server CA certificate")

    def open(self, target: str) -> grpc.aio.Channel:
        credentials = grpc.ssl_channel_credentials(root_certificates=self.ca_pem)
        return grpc.aio.secure_channel(target, credentials, options=_options(self.target_name_override))


@dataclass(frozen=True, slots=True)
class MutualTlsTransport:
    """TLS as above plus our client certificate and key (PEM)."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes = field(repr=False)
    target_name_override: str | None = None

    def __post_init__(self) -> None:
        _require_pem(self.ca_pem, "server CA certificate")
        _require_pem(self.cert_pem, "client certificate")
        _require_pem(self.key_pem, "client key")

    def open(self, target: str) -> grpc.aio.Channel:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.ca_pem, private_key=self.key_pem, certificate_chain=self.cert_pem
        )
        return grpc.aio.secure_channel(target, credentials, options=_options(self.target_name_override))


def server_credentials(cert_pem: bytes, key_pem: bytes, client_ca_pem: bytes | None = None) -> grpc.ServerCredentials:
    """TLS for a server we run (the CVMS); with ``client_ca_pem`` clients must present a certificate."""
    _require_pem(cert_pem, "server certificate")
    _require_pem(key_pem, "server key")
    if client_ca_pem is not None:
        _require_pem(client_ca_pem, "client CA certificate")
    return grpc.ssl_server_credentials(
        [(key_pem, cert_pem)], root_certificates=client_ca_pem, require_client_auth=client_ca_pem is not None
    )


# --- settings from the CLI's environment names (§10.2) ------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration such as ``90s`` or ``1h30m``; BadInput names the bad text."""
    if text == "0":  # Go's one unit-less duration
        return 0.0
    position, total = 0, 0.0
    while position < len(text):
        match = _DURATION.match(text, position)
        if match is None:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise BadInput(f"{text!r} is not a duration; write it like 90s, 10m or 1h30m")
    return total


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Where and how to reach an agent or manager, as the Cocos CLI configures it."""

    target: str
    transport: ChannelFactory
    timeout: float

    @classmethod
    def from_env(cls, prefix: str, environ: Mapping[str, str] | None = None) -> ClientSettings:
        """Read ``<prefix>_URL``, ``_TIMEOUT``, ``_SERVER_CA_CERTS``, ``_CLIENT_CERT``, ``_CLIENT_KEY``.

        ``prefix`` is ``AGENT_GRPC`` or ``MANAGER_GRPC``. There is no default address: the
        CLI's ``localhost:7001`` default is wrong for the agent (§14 #21).
        """
        env = os.environ if environ is None else environ
        target = env.get(f"{prefix}_URL", "").strip()
        if not target:
            raise BadInput(f"{prefix}_URL is not set; give the host:port to connect to")
        timeout = parse_go_duration(env.get(f"{prefix}_TIMEOUT", "60s"))
        ca, cert, key = (env.get(f"{prefix}_{name}", "") for name in ("SERVER_CA_CERTS", "CLIENT_CERT", "CLIENT_KEY"))
        if bool(cert) != bool(key):
            raise BadInput(f"set both {prefix}_CLIENT_CERT and {prefix}_CLIENT_KEY, or neither")
        if cert and not ca:
            raise BadInput(f"{prefix}_CLIENT_CERT needs {prefix}_SERVER_CA_CERTS to check the server")
        transport: ChannelFactory = PlainTransport()
        if cert:
            transport = MutualTlsTransport(_read(ca, prefix), _read(cert, prefix), _read(key, prefix))
        elif ca:
            transport = TlsTransport(_read(ca, prefix))
        return cls(target=target, transport=transport, timeout=timeout)


def _read(path: str, prefix: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise BadInput(f"cannot read {path} (from {prefix}_*): {error.strerror}") from None
