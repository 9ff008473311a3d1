"""Attested TLS (Cocos v0.9+): RFC 9261 exported authenticators carrying the agent's attestation.

The verification core works on bytes and exporter values only (COCOS-PROTOCOL.md §12); the TLS
transport derives those from its own session and plugs them in.
"""

from __future__ import annotations

from core.atls.authenticator import AuthenticatorResult, make_request, verify_authenticator
from core.atls.binding import Binder, compute_binder, eat_nonce, expected_report_data
from core.atls.builder import build_authenticator
from core.atls.errors import AtlsProtocolError, AtlsRefused
from core.atls.frames import FRAME_AUTHENTICATOR, FRAME_REQUEST, decode_frame, encode_frame
from core.atls.suites import SessionExporters, SuiteHash, derive_exporters, suite_hash

__all__ = [
    "FRAME_AUTHENTICATOR", "FRAME_REQUEST", "AtlsProtocolError", "AtlsRefused", "AuthenticatorResult",
    "Binder", "SessionExporters", "SuiteHash", "build_authenticator", "compute_binder",
    "decode_frame", "derive_exporters", "eat_nonce", "encode_frame", "expected_report_data",
    "make_request", "suite_hash", "verify_authenticator",
]
