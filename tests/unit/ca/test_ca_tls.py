"""Issued certificates in a real TLS 1.3 handshake with mutual authentication over loopback."""

from __future__ import annotations

import socket
import ssl
import threading
from datetime import datetime, timezone

import pytest

from tests.unit.ca.helpers import Clock


@pytest.fixture
def clock() -> Clock:
    """The real time: OpenSSL checks validity against the system clock."""
    return Clock(datetime.now(timezone.utc))


def _write(tmp_path, name, issued):
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert.write_bytes(issued.cert_pem)
    key.write_bytes(issued.key_pem)
    return str(cert), str(key)


def _server_context(ca_file, cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert, key)
    context.load_verify_locations(ca_file)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _client_context(ca_file, cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(ca_file)
    context.load_cert_chain(cert, key)
    return context


def _handshake(server_ctx, client_ctx, server_hostname):
    """One exchange; returns what the server saw, the reply and the server certificate, or raises the
    client's error with the server's own error attached as ``server_error``."""
    seen: dict[str, object] = {}
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve():
            try:
                conn, _ = listener.accept()
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    seen["peer"] = tls.getpeercert()
                    seen["version"] = tls.version()
                    tls.sendall(tls.recv(16).upper())
            except (ssl.SSLError, OSError) as exc:
                seen["error"] = exc

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                    client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
                tls.sendall(b"ping")
                reply = tls.recv(16)
                server_cert = tls.getpeercert()
        except (ssl.SSLError, OSError) as exc:
            thread.join(timeout=10)
            exc.server_error = seen.get("error")  # type: ignore[attr-defined]
            raise
        thread.join(timeout=10)
    assert "error" not in seen, seen
    return seen, reply, server_cert


@pytest.fixture
def pki(ca, tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.ca_pem())
    server = ca.issue("cvms.local", sans=["DNS:localhost", "IP:127.0.0.1"], usage="server")
    client = ca.issue("alice", sans=["URI:spiffe://prism/alice"], usage="client")
    return str(ca_file), _write(tmp_path, "server", server), _write(tmp_path, "client", client)


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1"])
def test_mutual_tls_13_handshake(pki, hostname):
    ca_file, server, client = pki
    seen, reply, server_cert = _handshake(_server_context(ca_file, *server), _client_context(ca_file, *client),
                                          hostname)
    assert reply == b"PING"
    assert seen["version"] == "TLSv1.3"
    assert ("URI", "spiffe://prism/alice") in seen["peer"]["subjectAltName"]
    assert dict(item[0] for item in server_cert["subject"])["commonName"] == "cvms.local"


def test_client_certificate_cannot_act_as_a_server(pki):
    ca_file, _, client = pki
    with pytest.raises(ssl.SSLCertVerificationError, match="unsuitable certificate purpose"):
        _handshake(_server_context(ca_file, *client), _client_context(ca_file, *client), "localhost")


def test_wrong_host_name_is_rejected(pki):
    ca_file, server, client = pki
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _handshake(_server_context(ca_file, *server), _client_context(ca_file, *client), "other.local")


def test_server_rejects_a_client_from_another_ca(pki, tmp_path, clock):
    from core.ca.authority import CertificateAuthority
    from core.keys.keystore import KdfParams, Keystore
    from core.workspace.store import Store

    ca_file, server, _ = pki
    with Store(tmp_path / "other.sqlite") as other_store, \
            Keystore.create(tmp_path / "other.keys", passphrase="x", kdf=KdfParams.FAST) as other_keys:
        other = CertificateAuthority(other_store, other_keys, clock=clock)
        other.init("Other CA")
        stranger = _write(tmp_path, "stranger", other.issue("mallory", usage="client"))
    client_ctx = _client_context(ca_file, *stranger)
    # In TLS 1.3 the client learns of the rejection only when it next reads.
    with pytest.raises((ssl.SSLError, ConnectionError)) as caught:
        _handshake(_server_context(ca_file, *server), client_ctx, "localhost")
    assert "unable to get local issuer certificate" in str(caught.value.server_error)
