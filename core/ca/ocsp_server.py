"""A small OCSP responder over HTTP on loopback (RFC 6960 appendix A), for local TLS peers.

It answers POST (body: DER, type application/ocsp-request) and GET (the request base64-encoded
and URL-escaped as the last path segment). It runs ``http.server`` in a daemon thread and
refuses to listen anywhere but loopback: the CA is a local tool, not a public service.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Protocol, cast
from urllib.parse import unquote

from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from core.ca.ocsp import malformed_response
from core.errors import CANotInitialised, PrismError, Refused

__all__ = ["MAX_REQUEST_BYTES", "OCSPResponder"]

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024  # real requests are a few hundred bytes
_POLL_SECONDS = 0.05
_REQUEST_TYPE = "application/ocsp-request"
_RESPONSE_TYPE = "application/ocsp-response"


class _Answers(Protocol):
    def ocsp_response(self, request_der: bytes) -> bytes: ...


class OCSPResponder:
    """``with OCSPResponder(ca) as responder: use(responder.url)``; or ``start()`` / ``stop()``."""

    def __init__(self, ca: _Answers, host: str = "127.0.0.1", port: int = 0) -> None:
        self._ca = ca
        self._host = _loopback_host(host)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to put in certificates' AIA extension; only known once started."""
        if self._server is None:
            raise Refused("the OCSP responder is not running; call start() first", code="ocsp-not-started")
        shown = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{shown}:{self._server.server_port}"

    def start(self) -> str:
        if self._server is not None:
            return self.url
        server_class = _IPv6Server if ":" in self._host else _Server
        try:
            server = server_class((self._host, self._port), _Handler)
        except OSError as exc:
            raise Refused(f"cannot listen on {self._host}:{self._port} ({exc.strerror or exc}); "
                          "pick another port or 0 for any free one", code="ocsp-bind") from None
        server.answers = self._ca
        self._server = server
        # A short poll interval keeps stop() quick; the loop is idle otherwise.
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": _POLL_SECONDS},
                                        name="prism-ocsp", daemon=True)
        self._thread.start()
        log.info("OCSP responder listening on %s", self.url)
        return self.url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> OCSPResponder:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must not keep the process alive
    answers: _Answers


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


#: refused bodies up to this size are read and dropped so the client sees the refusal
_DRAIN_LIMIT = 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server_version = "PrismOCSP/1"
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        content_type = self.headers.get("Content-Type", _REQUEST_TYPE).split(";")[0].strip().lower()
        if content_type != _REQUEST_TYPE:
            self._plain(415, f"send the request as {_REQUEST_TYPE}")
            return
        length = self._content_length()
        if length is None:
            return
        self._answer(self.rfile.read(length))

    def do_GET(self) -> None:
        self._answer(decode_get_path(self.path))

    def _content_length(self) -> int | None:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._plain(411, "a Content-Length header is required")
            return None
        if not 0 <= length <= MAX_REQUEST_BYTES:
            self._plain(413, f"an OCSP request is at most {MAX_REQUEST_BYTES} bytes")
            return None
        return length

    def _answer(self, request_der: bytes | None) -> None:
        body = malformed_response() if request_der is None else self._respond(request_der)
        self._send(200, _RESPONSE_TYPE, body)

    def _respond(self, request_der: bytes) -> bytes:
        try:
            return cast(_Server, self.server).answers.ocsp_response(request_der)
        except CANotInitialised:
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        except PrismError as exc:
            log.warning("the OCSP responder could not answer: %s", exc)
            return _unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)
        except Exception:  # the wire boundary: a client gets an OCSP answer, never a dropped connection
            log.exception("unexpected failure while answering an OCSP request")
            return _unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)

    def _plain(self, status: int, message: str) -> None:
        self._discard_body()
        self.close_connection = True  # announced in _send, so the client does not reuse the connection
        self._send(status, "text/plain; charset=utf-8", message.encode("utf-8") + b"\n")

    def _discard_body(self) -> None:
        """Read (and drop) a refused request's body, up to a bound, before answering.

        Closing with unread bytes in the socket makes the kernel reset the connection, and the
        client then sees "server disconnected" instead of our 413/415 answer.
        """
        try:
            remaining = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return
        if not 0 < remaining <= _DRAIN_LIMIT:
            return
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 64 * 1024))
            if not chunk:
                return
            remaining -= len(chunk)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("ocsp %s - " + format, self.address_string(), *args)


def decode_get_path(path: str) -> bytes | None:
    """The DER request from a GET path (URL-escaped base64 after the root); None when it is not one."""
    # Everything after the leading slash: clients that skip escaping leave "/" from base64 in the path.
    text = unquote(path.split("?", 1)[0].lstrip("/")).strip()
    if not text:
        return None
    # Some clients use the URL-safe alphabet or drop padding; both are unambiguous to undo.
    text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(Encoding.DER)


def _loopback_host(host: str) -> str:
    """Accept only loopback addresses ("localhost" means 127.0.0.1)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise Refused(f"the OCSP responder only listens on loopback (127.0.0.1 or ::1), not {host!r}",
                      code="ocsp-not-loopback")
    return str(address)
