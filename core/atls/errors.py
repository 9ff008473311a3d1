"""Errors of the attested-TLS layer (COCOS-PROTOCOL.md §12)."""

from __future__ import annotations

from core.errors import BadInput, Refused


class AtlsProtocolError(BadInput):
    """Bytes of the aTLS exchange (frames, handshake messages, cmw payload) that do not parse."""

    code = "atls-protocol"


class AtlsRefused(Refused):
    """A well-formed exchange this app refuses by rule (e.g. an empty authenticator)."""

    code = "atls-refused"
