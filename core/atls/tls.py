"""The TLS 1.3 client leg of aTLS: pyOpenSSL over memory BIOs, driven by a plain socket.

Memory BIOs keep OpenSSL away from the socket: this module moves ciphertext between the socket
and the TLS engine itself. During the handshake and the authenticator exchange it does so with
blocking calls bounded by one deadline (run in a worker thread, never on the event loop); the
bridge's relay then drives the same engine from a non-blocking loop (``decrypt``/``encrypt``).
The standard library's ``ssl`` has no TLS exporter, hence pyOpenSSL (COCOS-PROTOCOL.md §12.8).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL

from core.errors import BadInput, PrismError

__all__ = ["AtlsConnectError", "AtlsTimeout", "AtlsTlsVersionError", "ClientIdentity", "TlsPipe",
           "client_context"]

_READ_SIZE = 256 * 1024
_T = TypeVar("_T")


class AtlsConnectError(PrismError):
    """The aTLS connection could not be set up (network, TLS, or the peer hung up)."""

    code = "atls-connect"


class AtlsTimeout(AtlsConnectError):
    code = "atls-timeout"


class AtlsTlsVersionError(AtlsConnectError):
    code = "atls-tls-version"


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """Our client certificate (PEM, leaf first, intermediates may follow) and its key, for maTLS."""

    cert_pem: bytes
    key_pem: bytes = field(repr=False)


def client_context(identity: ClientIdentity | None = None) -> SSL.Context:
    """TLS 1.3 only, ALPN h2, no X.509 verification: trust comes from the attestation (§12.1)."""
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    ctx.set_max_proto_version(SSL.TLS1_3_VERSION)
    ctx.set_alpn_protos([b"h2"])
    ctx.set_verify(SSL.VERIFY_NONE, lambda *_: True)
    if identity is not None:
        _use_identity(ctx, identity)
    return ctx


def _use_identity(ctx: SSL.Context, identity: ClientIdentity) -> None:
    try:
        certs = x509.load_pem_x509_certificates(identity.cert_pem)
        key = serialization.load_pem_private_key(identity.key_pem, None)
        ctx.use_certificate(certs[0])
        for extra in certs[1:]:
            ctx.add_extra_chain_cert(extra)
        ctx.use_privatekey(key)  # type: ignore[arg-type]
        ctx.check_privatekey()
    except (ValueError, TypeError, SSL.Error) as exc:
        raise BadInput(f"the maTLS client certificate or key is unusable ({exc}); give the PEM certificate "
                       "issued by the agent's client CA and its unencrypted PEM key") from None


def _remaining(deadline: float, what: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise AtlsTimeout(f"the agent did not complete {what} in time; it may be stalled or busy with "
                          "another client (the aTLS port serves one handshake at a time). Retry later")
    return left


def _tls_failure(exc: SSL.Error) -> AtlsConnectError:
    text = str(exc)
    if "protocol version" in text or "unsupported protocol" in text or "wrong version" in text:
        return AtlsTlsVersionError(
            "the server does not speak TLS 1.3, which attested TLS requires (it offered an older "
            "version). Check that the agent runs with attested_tls enabled, or use the TLS transport "
            f"for a plain-TLS agent ({text})")
    return AtlsConnectError(f"the TLS handshake with the agent failed ({text}); check the address and "
                            "that the agent runs in aTLS mode")


def _read_failure(exc: SSL.Error, what: str) -> AtlsConnectError:
    # TLS 1.3 clients finish the handshake before the server judges their certificate (maTLS)
    if "certificate required" in str(exc) or "unknown ca" in str(exc) or "bad certificate" in str(exc):
        return AtlsConnectError(f"the agent refused our TLS client certificate during {what} ({exc}); "
                                "this agent runs maTLS: give a client certificate issued by its client CA")
    return AtlsConnectError(f"the TLS connection failed during {what} ({exc})")


class TlsPipe:
    """One client TLS connection: a socket plus a pyOpenSSL engine over memory BIOs."""

    def __init__(self, sock: socket.socket, conn: SSL.Connection) -> None:
        self.sock = sock
        self.conn = conn
        self.closed_by_peer = False

    @classmethod
    def connect(cls, host: str, port: int, ctx: SSL.Context, deadline: float) -> TlsPipe:
        try:
            sock = socket.create_connection((host, port), timeout=_remaining(deadline, "the TCP connect"))
        except TimeoutError:
            raise AtlsTimeout(f"connecting to {host}:{port} timed out; check the address and port") from None
        except OSError as exc:
            raise AtlsConnectError(f"cannot connect to {host}:{port} ({exc.strerror or exc}); the agent may "
                                   "still be waiting for its manifest, or the port is not forwarded") from None
        conn = SSL.Connection(ctx, None)
        conn.set_connect_state()
        if not _is_ip(host):
            try:
                conn.set_tlsext_host_name(host.encode("idna"))
            except UnicodeError:
                pass  # SNI is a courtesy here: the agent ignores it and trust never depends on it
        return cls(sock, conn)

    # --- blocking phase (worker thread, one deadline) -------------------------------------------

    def handshake(self, deadline: float) -> None:
        while True:
            try:
                self.conn.do_handshake()
                break
            except SSL.WantReadError:
                self._flush(deadline, "the TLS handshake")
                self._fill(deadline, "the TLS handshake")
            except SSL.Error as exc:
                self._send_alert()
                raise _tls_failure(exc) from None
        self._flush(deadline, "the TLS handshake")

    def write(self, data: bytes, deadline: float) -> None:
        self.conn.sendall(data)
        self._flush(deadline, "sending the authenticator request")

    def read_exact(self, size: int, deadline: float, what: str) -> bytes:
        buf = bytearray()
        while len(buf) < size:
            try:
                buf += self.conn.recv(min(size - len(buf), _READ_SIZE))
            except SSL.WantReadError:
                self._flush(deadline, what)
                self._fill(deadline, what)
            except SSL.ZeroReturnError:
                raise AtlsConnectError(f"the agent closed the connection during {what}") from None
            except SSL.Error as exc:
                raise _read_failure(exc, what) from None
        return bytes(buf)

    def _flush(self, deadline: float, what: str) -> None:
        out = self.take_output()
        if out:
            self._io(lambda: self.sock.sendall(out), deadline, what)

    def _fill(self, deadline: float, what: str) -> None:
        data = self._io(lambda: self.sock.recv(_READ_SIZE), deadline, what)
        if not data:
            raise AtlsConnectError(f"the agent closed the connection during {what}; it may not be an "
                                   "aTLS agent, or it refused our request")
        self.conn.bio_write(data)

    def _io(self, op: Callable[[], _T], deadline: float, what: str) -> _T:
        self.sock.settimeout(_remaining(deadline, what))
        try:
            return op()
        except TimeoutError:
            raise AtlsTimeout(f"the agent did not answer during {what} in time; it may be stalled or "
                              "serving another client. Retry later") from None
        except OSError as exc:
            raise AtlsConnectError(f"the connection broke during {what} ({exc.strerror or exc})") from None

    def _send_alert(self) -> None:
        try:
            out = self.take_output()
            if out:
                self.sock.settimeout(1.0)
                self.sock.sendall(out)
        except OSError:
            pass  # best effort: the peer learns why we left, or just sees the close

    # --- relay phase (non-blocking, driven by the bridge) --------------------------------------

    def take_output(self) -> bytes:
        """Ciphertext the engine produced and the socket has not carried yet."""
        chunks = []
        while True:
            try:
                chunks.append(self.conn.bio_read(_READ_SIZE))
            except SSL.WantReadError:
                return b"".join(chunks)

    def encrypt(self, plain: bytes) -> bytes:
        self.conn.sendall(plain)
        return self.take_output()

    def decrypt(self, raw: bytes) -> bytes:
        """Feed ciphertext from the socket; return every plaintext byte now available."""
        if raw:
            self.conn.bio_write(raw)
        out = bytearray()
        while True:
            try:
                out += self.conn.recv(_READ_SIZE)
            except SSL.WantReadError:
                return bytes(out)
            except SSL.ZeroReturnError:
                self.closed_by_peer = True
                return bytes(out)

    def close(self, *, notify: bool = True) -> None:
        """Send close_notify (unless ``notify`` is False), then close the socket.

        Pass ``notify=False`` when a record may have been cut short on the wire: an alert
        after half a record would reach the peer as corrupted data, a bare close as a truncation.
        """
        try:
            if notify:
                self.conn.shutdown()
        except SSL.Error:
            pass  # the handshake may not have finished; closing the socket is enough
        try:
            out = self.take_output() if notify else b""
            if out:
                self.sock.setblocking(True)
                self.sock.settimeout(1.0)
                self.sock.sendall(out)
        except OSError:
            pass
        finally:
            self.sock.close()


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        return True
    except OSError:
        return False
