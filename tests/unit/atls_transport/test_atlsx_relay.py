"""The relay pump on its own: tampered streams and stopping in the middle of a record."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from OpenSSL import SSL

from atlsx_server import make_identity
from core.atls.bridge import _pump
from core.atls.tls import TlsPipe, client_context

pytestmark = pytest.mark.timeout(60)


def test_relay_closes_both_sides_when_the_stream_is_tampered_with(caplog):
    local, app = socket.socketpair()
    upstream, network = socket.socketpair()
    conn = SSL.Connection(client_context(), None)
    conn.set_connect_state()
    stop, (wake_r, wake_w) = threading.Event(), socket.socketpair()
    worker = threading.Thread(target=_pump, args=(local, TlsPipe(upstream, conn), stop, wake_r))
    worker.start()
    network.sendall(b"\x17\x03\x03\x00\x20" + bytes(32))  # forged application data: no key made it
    worker.join(5)
    alive = worker.is_alive()
    stop.set()
    wake_w.send(b"x")
    assert not alive
    app.settimeout(2)
    assert app.recv(10) == b""          # the local side was closed, nothing was passed on
    assert "corrupted or tampered" in caplog.text
    for sock in (app, network, wake_r, wake_w):
        sock.close()


def test_stopping_the_relay_mid_record_delivers_whole_records_then_close_notify():
    cert, key = make_identity()
    server_ctx = SSL.Context(SSL.TLS_METHOD)
    server_ctx.use_certificate(cert)
    server_ctx.use_privatekey(key)
    local, app = socket.socketpair()
    upstream, network = socket.socketpair()
    client = TlsPipe(upstream, SSL.Connection(client_context(), None))
    client.conn.set_connect_state()
    server = TlsPipe(network, SSL.Connection(server_ctx, None))
    server.conn.set_accept_state()
    shaker = threading.Thread(target=server.handshake, args=(time.monotonic() + 5,))
    shaker.start()
    client.handshake(time.monotonic() + 5)
    shaker.join(5)
    stop, (wake_r, wake_w) = threading.Event(), socket.socketpair()
    worker = threading.Thread(target=_pump, args=(local, client, stop, wake_r))
    worker.start()

    def write() -> None:
        try:
            for _ in range(64):
                app.sendall(bytes(1024 * 1024))
        except OSError:
            pass  # the relay stopped and closed its end, as it should

    writer = threading.Thread(target=write)
    raw: list[bytes] = []

    def read_slowly() -> None:  # slower than we write until the stop, so records queue up and get cut
        network.settimeout(5)
        while chunk := network.recv(16 * 1024):
            raw.append(chunk)
            if not stop.is_set():
                time.sleep(0.001)

    reader = threading.Thread(target=read_slowly)
    writer.start()
    reader.start()
    time.sleep(0.3)
    stop.set()
    wake_w.send(b"x")
    worker.join(5)
    reader.join(5)
    assert not worker.is_alive() and not reader.is_alive()
    plain = sum(len(server.decrypt(chunk)) for chunk in raw)  # SSL.Error if a record arrived corrupted
    assert 0 < plain < 64 * 1024 * 1024  # stopped mid-stream, and everything delivered decrypts
    assert server.closed_by_peer        # queued records went out whole, then a proper close_notify
    writer.join(5)
    for sock in (app, network, wake_r, wake_w):
        sock.close()
