"""aTLS framing (§12.2) and the RFC 9261 handshake messages it carries (§12.3), both directions.

Parsing is strict: every length is checked against the bytes present, nothing may trail, and
every malformation raises ``AtlsProtocolError`` naming the part that is wrong. Building is used
by our sandbox aTLS server and by tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.atls.errors import AtlsProtocolError, AtlsRefused

FRAME_REQUEST = 1          # client -> server: the authenticator request
FRAME_AUTHENTICATOR = 2    # server -> client: the exported authenticator
FRAME_HEADER_SIZE = 5
MAX_FRAME_PAYLOAD = 16 * 1024 * 1024

HS_CERTIFICATE = 11
HS_CERTIFICATE_REQUEST = 13
HS_CERTIFICATE_VERIFY = 15
HS_CLIENT_CERTIFICATE_REQUEST = 17
HS_FINISHED = 20

EXT_SIGNATURE_ALGORITHMS = 0x000D
EXT_CMW_ATTESTATION = 0xFF00


# --- framing ------------------------------------------------------------------------------

def encode_frame(frame_type: int, payload: bytes) -> bytes:
    """``u8 type || u32 length || payload``."""
    if frame_type not in (FRAME_REQUEST, FRAME_AUTHENTICATOR):
        raise AtlsProtocolError(f"atls: invalid frame type {frame_type}; only 1 and 2 exist")
    if len(payload) > MAX_FRAME_PAYLOAD:
        raise AtlsProtocolError(f"atls: frame payload too large: {len(payload)}")
    return bytes((frame_type,)) + len(payload).to_bytes(4, "big") + payload


def parse_frame_header(header: bytes) -> tuple[int, int]:
    """(type, payload length) from the 5 header bytes, checked before reading the payload."""
    if len(header) != FRAME_HEADER_SIZE:
        raise AtlsProtocolError(f"an aTLS frame header is 5 bytes; got {len(header)} "
                                "(the server closed the connection early)", code="atls-truncated")
    frame_type, length = header[0], int.from_bytes(header[1:5], "big")
    if frame_type not in (FRAME_REQUEST, FRAME_AUTHENTICATOR):
        raise AtlsProtocolError(f"atls: invalid frame type {frame_type}; the peer does not speak aTLS")
    if length > MAX_FRAME_PAYLOAD:
        raise AtlsProtocolError(f"atls: frame payload too large: {length}; the peer does not speak aTLS")
    return frame_type, length


def decode_frame(data: bytes, expected_type: int | None = None) -> bytes:
    """The payload of exactly one frame (one frame per direction per connection)."""
    frame_type, length = parse_frame_header(bytes(data[:FRAME_HEADER_SIZE]))
    if expected_type is not None and frame_type != expected_type:
        raise AtlsProtocolError(f"expected aTLS frame type {expected_type} but got {frame_type}")
    payload = bytes(data[FRAME_HEADER_SIZE:])
    if len(payload) < length:
        raise AtlsProtocolError(f"the aTLS frame announces {length} bytes but only {len(payload)} "
                                "arrived; the connection was cut", code="atls-truncated")
    if len(payload) > length:
        raise AtlsProtocolError(f"{len(payload) - length} bytes follow the aTLS frame; "
                                "there is exactly one frame per direction")
    return payload


# --- a bounds-checked reader ----------------------------------------------------------------

class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int, part: str) -> bytes:
        if n > len(self.data) - self.pos:
            raise AtlsProtocolError(
                f"the {self.what} is truncated: its {part} needs {n} bytes but only "
                f"{len(self.data) - self.pos} remain", code="atls-truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, size: int, part: str) -> int:
        return int.from_bytes(self.take(size, part), "big")

    def vector(self, len_size: int, part: str) -> bytes:
        return self.take(self.uint(len_size, f"{part} length"), part)

    def done(self) -> None:
        if self.pos != len(self.data):
            raise AtlsProtocolError(f"{len(self.data) - self.pos} unexpected bytes follow the {self.what}")


def _u(value: int, size: int, part: str) -> bytes:
    if not 0 <= value < 1 << (8 * size):
        raise AtlsProtocolError(f"the {part} ({value}) does not fit in {size} bytes")
    return value.to_bytes(size, "big")


def _vec(data: bytes, len_size: int, part: str) -> bytes:
    return _u(len(data), len_size, f"{part} length") + data


# --- extensions -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Extension:
    type: int
    data: bytes

    def encode(self) -> bytes:
        return _u(self.type, 2, "extension type") + _vec(self.data, 2, "extension data")


def encode_extensions(extensions: Iterable[Extension]) -> bytes:
    """An extension block with its u16 total length."""
    return _vec(b"".join(e.encode() for e in extensions), 2, "extensions block")


def parse_extensions(block: bytes, what: str) -> tuple[Extension, ...]:
    """Parse the inside of an extension block; duplicate types are refused as in TLS 1.3."""
    r, out, seen = _Reader(block, f"extensions of the {what}"), [], set()
    while r.pos < len(block):
        ext_type = r.uint(2, "extension type")
        if ext_type in seen:
            raise AtlsProtocolError(f"extension 0x{ext_type:04x} appears twice in the {what}")
        seen.add(ext_type)
        out.append(Extension(ext_type, r.vector(2, f"extension 0x{ext_type:04x}")))
    return tuple(out)


def find_extension(extensions: Iterable[Extension], ext_type: int) -> Extension | None:
    return next((e for e in extensions if e.type == ext_type), None)


def signature_algorithms_extension(schemes: Iterable[int]) -> Extension:
    body = b"".join(_u(s, 2, "signature scheme") for s in schemes)
    return Extension(EXT_SIGNATURE_ALGORITHMS, _vec(body, 2, "signature_algorithms list"))


def parse_signature_algorithms(data: bytes) -> tuple[int, ...]:
    r = _Reader(data, "signature_algorithms extension")
    body = r.vector(2, "scheme list")
    r.done()
    if not body or len(body) % 2:
        raise AtlsProtocolError(f"the signature_algorithms list has {len(body)} bytes; it must be a "
                                "non-empty list of 2-byte schemes")
    return tuple(int.from_bytes(body[i:i + 2], "big") for i in range(0, len(body), 2))


# --- handshake messages ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class HandshakeMessage:
    msg_type: int
    body: bytes
    raw: bytes  # header included: what the transcript hashes


def handshake_message(msg_type: int, body: bytes) -> bytes:
    """``u8 msg_type || u24 length || body``."""
    return _u(msg_type, 1, "message type") + _vec(body, 3, "message body")


def split_messages(data: bytes, what: str) -> list[HandshakeMessage]:
    r, out = _Reader(data, what), []
    while r.pos < len(data):
        start = r.pos
        msg_type = r.uint(1, "message type")
        body = r.vector(3, f"handshake message {msg_type}")
        out.append(HandshakeMessage(msg_type, body, data[start:r.pos]))
    return out


@dataclass(frozen=True, slots=True)
class ClientCertificateRequest:
    context: bytes
    extensions: tuple[Extension, ...]
    msg_type: int = HS_CLIENT_CERTIFICATE_REQUEST

    def encode(self) -> bytes:
        body = _vec(self.context, 1, "request context") + encode_extensions(self.extensions)
        return handshake_message(self.msg_type, body)

    @property
    def signature_schemes(self) -> tuple[int, ...]:
        ext = find_extension(self.extensions, EXT_SIGNATURE_ALGORITHMS)
        return parse_signature_algorithms(ext.data) if ext else ()

    @property
    def offers_cmw_attestation(self) -> bool:
        return find_extension(self.extensions, EXT_CMW_ATTESTATION) is not None


def parse_request(data: bytes) -> ClientCertificateRequest:
    """Parse a serialized (Client)CertificateRequest handshake message."""
    messages = split_messages(bytes(data), "authenticator request")
    if len(messages) != 1:
        raise AtlsProtocolError(f"ea: bad authenticator request: {len(messages)} handshake messages "
                                "instead of one")
    msg = messages[0]
    if msg.msg_type not in (HS_CLIENT_CERTIFICATE_REQUEST, HS_CERTIFICATE_REQUEST):
        raise AtlsProtocolError(f"ea: bad authenticator request: message type {msg.msg_type} "
                                "is not a (Client)CertificateRequest (17 or 13)")
    r = _Reader(msg.body, "authenticator request")
    context = r.vector(1, "certificate_request_context")
    extensions = parse_extensions(r.vector(2, "extensions"), "authenticator request")
    r.done()
    return ClientCertificateRequest(context, extensions, msg.msg_type)


@dataclass(frozen=True, slots=True)
class CertificateEntry:
    cert_der: bytes
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        return _vec(self.cert_der, 3, "certificate") + encode_extensions(self.extensions)


@dataclass(frozen=True, slots=True)
class Certificate:
    context: bytes
    entries: tuple[CertificateEntry, ...]

    def encode(self) -> bytes:
        entries = b"".join(e.encode() for e in self.entries)
        return handshake_message(HS_CERTIFICATE, _vec(self.context, 1, "context") + _vec(entries, 3, "list"))


def parse_certificate(body: bytes) -> Certificate:
    r = _Reader(body, "Certificate message")
    context = r.vector(1, "certificate_request_context")
    entries_r = _Reader(r.vector(3, "certificate list"), "certificate list")
    r.done()
    entries = []
    while entries_r.pos < len(entries_r.data):
        cert = entries_r.vector(3, f"certificate {len(entries)}")
        if not cert:
            raise AtlsProtocolError(f"certificate entry {len(entries)} is empty")
        exts = parse_extensions(entries_r.vector(2, "entry extensions"), f"certificate entry {len(entries)}")
        entries.append(CertificateEntry(cert, exts))
    return Certificate(context, tuple(entries))


@dataclass(frozen=True, slots=True)
class CertificateVerify:
    scheme: int
    signature: bytes

    def encode(self) -> bytes:
        body = _u(self.scheme, 2, "signature scheme") + _vec(self.signature, 2, "signature")
        return handshake_message(HS_CERTIFICATE_VERIFY, body)


def parse_certificate_verify(body: bytes) -> CertificateVerify:
    r = _Reader(body, "CertificateVerify message")
    scheme = r.uint(2, "signature scheme")
    signature = r.vector(2, "signature")
    r.done()
    return CertificateVerify(scheme, signature)


@dataclass(frozen=True, slots=True)
class Finished:
    verify_data: bytes

    def encode(self) -> bytes:
        return handshake_message(HS_FINISHED, self.verify_data)


@dataclass(frozen=True, slots=True)
class Authenticator:
    """A parsed exported authenticator; the ``*_raw`` fields are what the transcript hashes."""

    certificate: Certificate
    certificate_verify: CertificateVerify
    finished: Finished
    certificate_raw: bytes
    certificate_verify_raw: bytes
    finished_raw: bytes

    def encode(self) -> bytes:
        return self.certificate_raw + self.certificate_verify_raw + self.finished_raw


def parse_authenticator(data: bytes, hash_length: int) -> Authenticator:
    """Certificate || CertificateVerify || Finished, nothing else (§12.6 item 2).

    A Finished-only ("empty") authenticator is legal in RFC 9261 but carries no attestation, so
    it is refused here (AtlsRefused).
    """
    messages = split_messages(bytes(data), "authenticator")
    types = [m.msg_type for m in messages]
    if types == [HS_FINISHED]:
        raise AtlsRefused("the server sent an empty authenticator (Finished only): it carries "
                          "no certificate and no attestation, so the agent cannot be trusted",
                          code="atls-empty-authenticator")
    if types != [HS_CERTIFICATE, HS_CERTIFICATE_VERIFY, HS_FINISHED]:
        raise AtlsProtocolError(f"the authenticator holds handshake messages {types}; exactly "
                                "Certificate (11), CertificateVerify (15), Finished (20) are expected")
    cert, cv, fin = messages
    if len(fin.body) != hash_length:
        raise AtlsProtocolError(f"the Finished message has {len(fin.body)} bytes but the cipher "
                                f"suite's hash gives {hash_length}", code="atls-truncated")
    return Authenticator(parse_certificate(cert.body), parse_certificate_verify(cv.body),
                         Finished(fin.body), cert.raw, cv.raw, fin.raw)
