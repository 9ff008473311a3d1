"""The TLS 1.3 cipher-suite hash and the exporter values the exchange is keyed with (§12.4-§12.5).

The verifier never touches a socket: the transport derives these values from its own TLS
session (pyOpenSSL ``Connection.export_keying_material``) and hands them in.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from core.atls.errors import AtlsProtocolError

LABEL_HANDSHAKE_CONTEXT = b"EXPORTER-server authenticator handshake context"
LABEL_FINISHED_KEY = b"EXPORTER-server authenticator finished key"
LABEL_ATTESTATION = b"Attestation"
ATTESTATION_EXPORT_LENGTH = 32


@dataclass(frozen=True, slots=True)
class SuiteHash:
    """H of §12.4: the hash of the negotiated TLS 1.3 cipher suite."""

    name: str    # hashlib name: "sha256" | "sha384"
    length: int  # output size in bytes

    def digest(self, data: bytes) -> bytes:
        return hashlib.new(self.name, data).digest()

    def hmac(self, key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, self.name).digest()


SHA256 = SuiteHash("sha256", 32)
SHA384 = SuiteHash("sha384", 48)

_SUITES: dict[str | int, SuiteHash] = {
    "TLS_AES_128_GCM_SHA256": SHA256, 0x1301: SHA256,
    "TLS_CHACHA20_POLY1305_SHA256": SHA256, 0x1303: SHA256,
    "TLS_AES_256_GCM_SHA384": SHA384, 0x1302: SHA384,
    "sha256": SHA256, "sha384": SHA384,
}


def suite_hash(cipher_suite: str | int) -> SuiteHash:
    """H for a suite name ("TLS_AES_128_GCM_SHA256"), code (0x1301) or hash name ("sha384")."""
    key = cipher_suite.strip() if isinstance(cipher_suite, str) else cipher_suite
    found = _SUITES.get(key) or (_SUITES.get(key.lower()) if isinstance(key, str) else None)
    if found is None:
        shown = f"0x{key:04x}" if isinstance(key, int) else repr(key)
        raise AtlsProtocolError(
            f"ea: unknown cipher suite {shown}; aTLS works only with TLS_AES_128_GCM_SHA256, "
            "TLS_AES_256_GCM_SHA384 or TLS_CHACHA20_POLY1305_SHA256", code="atls-cipher-suite")
    return found


@dataclass(frozen=True, slots=True)
class SessionExporters:
    """The three exporter values the client derived from its own TLS session, and H."""

    hash: SuiteHash
    handshake_context: bytes  # Exporter("EXPORTER-server authenticator handshake context", "", H.len)
    finished_key: bytes       # Exporter("EXPORTER-server authenticator finished key", "", H.len)
    attestation: bytes        # Exporter("Attestation", certificate_request_context, 32)

    def __post_init__(self) -> None:
        for name, value, size in (("handshake context", self.handshake_context, self.hash.length),
                                  ("finished key", self.finished_key, self.hash.length),
                                  ("attestation exporter", self.attestation, ATTESTATION_EXPORT_LENGTH)):
            if len(value) != size:
                raise AtlsProtocolError(
                    f"the {name} exporter value has {len(value)} bytes but {size} are needed with "
                    f"{self.hash.name}; it was derived with the wrong length or suite",
                    code="atls-exporter")


#: pyOpenSSL's Connection.export_keying_material(label, olen, context=None) has this shape
Exporter = Callable[[bytes, int, "bytes | None"], bytes]


def derive_exporters(export: Exporter, hash_: SuiteHash, request_context: bytes) -> SessionExporters:
    """Ask the TLS session for the three values; context None means "no context" (same in TLS 1.3)."""
    return SessionExporters(
        hash=hash_,
        handshake_context=export(LABEL_HANDSHAKE_CONTEXT, hash_.length, None),
        finished_key=export(LABEL_FINISHED_KEY, hash_.length, None),
        attestation=export(LABEL_ATTESTATION, ATTESTATION_EXPORT_LENGTH, request_context),
    )
