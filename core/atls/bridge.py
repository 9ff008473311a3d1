"""``AtlsTransport``: grpcio over attested TLS, through a private local relay (COCOS-PROTOCOL.md §12.8 a).

grpcio cannot speak aTLS, so ``open`` hands it an insecure (h2c) channel to a relay we run: a
unix socket in a private 0700 directory (loopback TCP on 127.0.0.1 where unix sockets are not
available), served by a thread that pipes each local connection to exactly one verified aTLS
connection.

Which upstream connection a local connection gets: the FIRST local connection reuses the
connection ``connect`` already verified (so the typed AttestationRefused reaches the caller
before any channel exists); EVERY further local connection (grpcio reconnecting after a drop,
or a second subchannel) gets a FRESH aTLS connection that must pass the gate again, and is
closed unanswered if it does not. No upstream connection ever carries a byte of HTTP/2 before
its own Verdict passed. The channel targets one address with grpcio's default pick-first
policy, so in normal operation there is one connection and every RPC is multiplexed over it,
as §12.7 asks.

The relay itself runs in threads with non-blocking sockets; the TLS engine works over memory
BIOs, and each direction has a bounded buffer (we stop reading from a side whose peer is slow),
which keeps memory flat during multi-GiB uploads.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import selectors
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable

import grpc
from OpenSSL import SSL

from core.atls.client import AtlsConnection, connect_atls, establish_atls
from core.atls.gate import AttestationGate, AttestationRefused
from core.atls.tls import ClientIdentity, TlsPipe
from core.attestation.verdict import Verdict
from core.cocos.channels import CHANNEL_OPTIONS
from core.errors import BadInput, PrismError

__all__ = ["AtlsTransport"]

_log = logging.getLogger(__name__)

_READ_SIZE = 256 * 1024
_HIGH_WATER = 4 * 1024 * 1024


def split_target(target: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port)."""
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(f"{target!r} is not host:port; give the agent's address, e.g. 127.0.0.1:7002")
    return host.strip("[]"), int(port)


class AtlsTransport:
    """A ChannelFactory for agents in aTLS/maTLS mode.

    Call ``await connect(target)`` first: it opens and verifies the aTLS connection and raises
    AttestationRefused (carrying the Verdict) before any channel exists. ``open(target)`` then
    returns a grpc.aio channel over it. ``open`` without ``connect`` also works, but a refusal
    then surfaces as an unavailable agent (see ``verdict`` and ``last_error`` for the reason).
    ``local`` picks the relay socket: "auto" (unix where available), "unix" or "tcp".
    """

    def __init__(self, gate: AttestationGate, *, ca_pem: bytes | None = None,
                 client_cert: ClientIdentity | None = None, timeout: float = 10.0, local: str = "auto") -> None:
        if local not in ("auto", "unix", "tcp"):
            raise BadInput(f"unknown relay socket kind {local!r}; use auto, unix or tcp")
        if local == "unix" and not _has_unix_sockets():
            raise BadInput("unix sockets are not available on this system; use local='tcp'")
        self.gate = gate
        self._options = {"ca_pem": ca_pem, "client_cert": client_cert, "timeout": timeout}
        self._local = local
        self._relays: dict[str, _Relay] = {}
        self._verdict: Verdict | None = None
        self.last_error: PrismError | None = None
        self._lock = threading.Lock()

    @property
    def verdict(self) -> Verdict | None:
        """The Verdict of the most recent aTLS connection (passed or refused)."""
        return self._verdict

    async def connect(self, target: str) -> Verdict:
        """Open and verify the aTLS connection to ``target``; raises AttestationRefused on refusal."""
        host, port = split_target(target)
        try:
            connection = await connect_atls(host, port, policy_gate=self.gate, **self._options)
        except PrismError as exc:
            self._record_failure(exc)
            raise
        self._record(connection.verdict)
        await self._replace_relay(target, connection)
        return connection.verdict

    def open(self, target: str) -> grpc.aio.Channel:
        with self._lock:
            relay = self._relays.get(target)
            if relay is None:
                relay = self._relays[target] = self._start_relay(target, None)
        return grpc.aio.insecure_channel(relay.address, options=CHANNEL_OPTIONS)

    async def close(self) -> None:
        """Stop every relay and close every aTLS connection (close grpc channels first)."""
        with self._lock:
            relays, self._relays = list(self._relays.values()), {}
        for relay in relays:
            await asyncio.to_thread(relay.close)

    async def __aenter__(self) -> AtlsTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- plumbing --------------------------------------------------------------------------------

    async def _replace_relay(self, target: str, connection: AtlsConnection) -> None:
        with self._lock:
            old = self._relays.pop(target, None)
            self._relays[target] = self._start_relay(target, connection)
        if old is not None:
            await asyncio.to_thread(old.close)

    def _start_relay(self, target: str, first: AtlsConnection | None) -> _Relay:
        host, port = split_target(target)
        establish = functools.partial(establish_atls, host, port, policy_gate=self.gate, **self._options)
        use_unix = self._local == "unix" or (self._local == "auto" and _has_unix_sockets())
        return _Relay(establish, first, use_unix=use_unix, on_verdict=self._record,
                      on_error=self._record_failure)

    def _record(self, verdict: Verdict) -> None:
        self._verdict = verdict

    def _record_failure(self, exc: PrismError) -> None:
        self.last_error = exc
        verdict = getattr(exc, "verdict", None)
        if isinstance(verdict, Verdict):
            self._verdict = verdict


def _has_unix_sockets() -> bool:
    return hasattr(socket, "AF_UNIX") and os.name == "posix"


class _Relay:
    """The local listener and one pump thread per accepted local connection."""

    def __init__(self, establish: Callable[[], AtlsConnection], first: AtlsConnection | None, *,
                 use_unix: bool, on_verdict: Callable[[Verdict], None],
                 on_error: Callable[[PrismError], None]) -> None:
        self._establish, self._first = establish, first
        self._on_verdict, self._on_error = on_verdict, on_error
        self._stop = threading.Event()
        self._refused = False  # set once a fresh connection is refused; a new connect() starts over
        self._wake_r, self._wake_w = socket.socketpair()
        self._threads: list[threading.Thread] = []
        self._dir: str | None = None
        self._listener = self._listen(use_unix)
        self._accepter = threading.Thread(target=self._accept_loop, name="atls-relay-accept", daemon=True)
        self._accepter.start()

    def _listen(self, use_unix: bool) -> socket.socket:
        if use_unix:
            # a private directory: no other local user can reach the attested connection
            self._dir = tempfile.mkdtemp(prefix="prism-atls-")
            path = os.path.join(self._dir, "relay.sock")
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            self.address = f"unix:{path}"
        else:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            self.address = f"127.0.0.1:{listener.getsockname()[1]}"
        listener.listen(8)
        listener.setblocking(False)
        return listener

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self._listener, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=1.0):
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        local, _ = self._listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    # handed over here, in the one accepting thread, so exactly one local connection gets it
                    first, self._first = self._first, None
                    worker = threading.Thread(target=self._serve, args=(local, first), name="atls-relay",
                                              daemon=True)
                    self._threads.append(worker)
                    worker.start()

    def _serve(self, local: socket.socket, first: AtlsConnection | None) -> None:
        if first is None and self._refused:
            # grpcio reconnects with back-off; do not dial an agent whose attestation we refused
            local.close()
            return
        try:
            upstream = first if first is not None else self._establish()
        except PrismError as exc:
            # refused or unreachable: grpcio sees the local connection close and reports UNAVAILABLE
            _log.warning("aTLS connection for the relay failed: %s", exc)
            self._refused = self._refused or isinstance(exc, AttestationRefused)
            self._on_error(exc)
            local.close()
            return
        if first is None:
            self._on_verdict(upstream.verdict)
        if self._stop.is_set():
            local.close()
            upstream.close()
            return
        _pump(local, upstream.pipe, self._stop, self._wake_r)

    def close(self) -> None:
        self._stop.set()
        self._wake_w.send(b"x")
        self._accepter.join(timeout=5)
        for worker in self._threads:
            worker.join(timeout=15)
        first, self._first = self._first, None
        if first is not None:
            first.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


# --- the pump: one local socket <-> one aTLS connection ------------------------------------------

class _Side:
    """One socket of the pair and the bytes waiting to be written to it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.out = bytearray()
        self.eof = False
        self.events = 0

    def want(self, read: bool) -> int:
        return (selectors.EVENT_READ if read else 0) | (selectors.EVENT_WRITE if self.out else 0)

    def write_some(self) -> None:
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        del self.out[:sent]


def _pump(local: socket.socket, upstream: TlsPipe, stop: threading.Event, wake: socket.socket) -> None:
    """Relay until either side closes, an error occurs or ``stop`` is set; closes both sockets."""
    near, far = _Side(local), _Side(upstream.sock)
    try:
        for side in (near, far):
            side.sock.setblocking(False)
        # plaintext the server sent right after the authenticator is already inside the engine
        near.out += upstream.decrypt(b"")
        far.out += upstream.take_output()
        _loop(near, far, upstream, stop, wake)
    except (OSError, PrismError) as exc:
        _log.info("aTLS relay connection ended: %s", exc)
    except SSL.Error as exc:
        # the record layer failed: bytes were altered or injected on the way; never pass on anything more
        _log.warning("the aTLS stream from the agent was corrupted or tampered with; closing it (%s)", exc)
    finally:
        local.close()
        upstream.close(notify=_flush_rest(far))


def _flush_rest(far: _Side) -> bool:
    """Deliver ciphertext still queued for the agent, so no record is cut short; True if all went."""
    if not far.out:
        return True
    try:
        far.sock.settimeout(1.0)
        far.sock.sendall(far.out)
    except OSError:
        return False  # the agent is not reading (or gone); a record may now be incomplete
    far.out.clear()
    return True


def _loop(near: _Side, far: _Side, upstream: TlsPipe, stop: threading.Event, wake: socket.socket) -> None:
    with selectors.DefaultSelector() as sel:
        sel.register(wake, selectors.EVENT_READ)
        while not stop.is_set():
            if (far.eof and not near.out) or (near.eof and not far.out):
                return  # a side closed and everything it sent has been delivered
            _arm(sel, near, near.want(not near.eof and len(far.out) < _HIGH_WATER))
            _arm(sel, far, far.want(not far.eof and len(near.out) < _HIGH_WATER))
            for key, events in sel.select(timeout=1.0):
                if key.fileobj is wake:
                    return
                side = key.data
                if events & selectors.EVENT_WRITE:
                    side.write_some()
                if events & selectors.EVENT_READ:
                    _read(side, near, far, upstream)


def _arm(sel: selectors.BaseSelector, side: _Side, events: int) -> None:
    if events == side.events:
        return
    if side.events == 0:
        sel.register(side.sock, events, side)
    elif events == 0:
        sel.unregister(side.sock)
    else:
        sel.modify(side.sock, events, side)
    side.events = events


def _read(side: _Side, near: _Side, far: _Side, upstream: TlsPipe) -> None:
    try:
        data = side.sock.recv(_READ_SIZE)
    except (BlockingIOError, InterruptedError):
        return
    if not data:
        side.eof = True
        return
    if side is near:
        far.out += upstream.encrypt(data)
    else:
        near.out += upstream.decrypt(data)
        far.out += upstream.take_output()  # e.g. a KeyUpdate answer the engine produced while reading
        far.eof = far.eof or upstream.closed_by_peer
