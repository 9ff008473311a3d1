"""maTLS client certificates, the optional CA check of §12.6 item 7, and the relay's connection rules."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from cryptography.hazmat.primitives import serialization

from atlsx_server import H2_PREFACE, make_ca, make_identity
from atlsx_support import Party, computation, gate, run, stack
from core.atls import bridge
from core.atls.bridge import AtlsTransport
from core.atls.client import connect_atls
from core.atls.gate import AttestationRefused
from core.atls.tls import AtlsConnectError, ClientIdentity
from core.attestation.verdict import Status
from core.errors import BadInput

pytestmark = pytest.mark.timeout(60)


def _pem(cert) -> bytes:  # noqa: ANN001
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:  # noqa: ANN001
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_matls_with_a_client_certificate_from_the_agents_ca(tmp_path):
    ca = make_ca("client CA")
    cert, key = make_identity("participant", ca, client=True)

    async def main():
        async with stack(computation(Party()), tmp_path, client_ca=ca[0]) as s:
            connection = await connect_atls("127.0.0.1", s.server.port, policy_gate=gate(),
                                            client_cert=ClientIdentity(_pem(cert), _key_pem(key)))
            connection.close()
            return connection

    connection = run(main())
    assert connection.verdict.acceptable and connection.session.alpn == b"h2"
    assert connection.session.tls_version == "TLSv1.3"


def test_matls_without_a_client_certificate_is_a_clear_error(tmp_path):
    ca = make_ca("client CA")

    async def main():
        async with stack(computation(Party()), tmp_path, client_ca=ca[0]) as s:
            with pytest.raises(AtlsConnectError, match="client certificate") as caught:
                await connect_atls("127.0.0.1", s.server.port, policy_gate=gate(), timeout=5)
            return caught.value, s

    error, s = run(main())
    assert error.code == "atls-connect" and s.service.received_bytes == 0


def test_unusable_client_identity_is_bad_input():
    cert, _ = make_identity()
    _, other_key = make_identity()
    with pytest.raises(BadInput, match="client certificate or key"):
        run(connect_atls("127.0.0.1", 1, policy_gate=gate(),
                         client_cert=ClientIdentity(_pem(cert), _key_pem(other_key))))


@pytest.mark.parametrize("same_ca", [True, False])
def test_authenticator_leaf_is_chain_verified_against_the_configured_ca(tmp_path, same_ca):
    ca = make_ca("agent CA")
    identity = make_identity("agent.example", ca)
    configured = ca[0] if same_ca else make_ca("someone else's CA")[0]

    async def main():
        async with stack(computation(Party()), tmp_path, identity=identity) as s:
            try:
                connection = await connect_atls("127.0.0.1", s.server.port, policy_gate=gate(),
                                                ca_pem=_pem(configured))
            except AttestationRefused as refused:
                return refused.verdict
            connection.close()
            return connection.verdict

    verdict = run(main())
    check = verdict.get("atls.ca_chain")
    assert check.status is (Status.PASS if same_ca else Status.FAIL)
    assert verdict.acceptable is same_ca
    if not same_ca:
        assert [c.id for c in verdict.failures()] == ["atls.ca_chain"]
        assert "no issuer found" in check.explanation


def test_without_a_ca_no_chain_check_is_made(tmp_path):
    async def main():
        async with stack(computation(Party()), tmp_path) as s:
            connection = await connect_atls("127.0.0.1", s.server.port, policy_gate=gate())
            connection.close()
            return connection.verdict

    assert run(main()).get("atls.ca_chain") is None


def test_each_further_local_connection_gets_a_freshly_verified_upstream(tmp_path):
    async def main():
        async with stack(computation(Party()), tmp_path) as s:
            transport = AtlsTransport(gate(), local="tcp")
            first_verdict = await transport.connect(s.server.target)
            channel = transport.open(s.server.target)   # starts nothing by itself
            relay = transport._relays[s.server.target]  # noqa: SLF001 - the address is what we need
            host, port = relay.address.rsplit(":", 1)
            socks = []
            for _ in range(2):
                sock = socket.create_connection((host, int(port)))
                sock.sendall(H2_PREFACE)
                socks.append(sock)
            deadline = time.monotonic() + 10
            while len(s.server.h2_bytes) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            connections = s.server.connections
            for sock in socks:
                sock.close()
            await channel.close()
            await transport.close()
            return connections, list(s.server.h2_bytes), first_verdict, transport.verdict

    connections, h2_bytes, first_verdict, last_verdict = run(main())
    # the first local connection reused the verified one; the second made (and verified) its own
    assert connections == 2 and h2_bytes == [24, 24]
    assert last_verdict is not first_verdict and last_verdict.acceptable


def test_cancelled_connect_closes_the_connection_it_was_still_making(tmp_path):
    async def main():
        async with stack(computation(Party()), tmp_path) as s:
            task = asyncio.create_task(connect_atls("127.0.0.1", s.server.port, policy_gate=gate(), timeout=5))
            await asyncio.sleep(0)  # the task starts the worker thread and waits on it
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            deadline = time.monotonic() + 5
            while not s.server.h2_bytes and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return list(s.server.h2_bytes), s.server.connections

    h2_bytes, connections = run(main())
    # the late connection was closed without a byte of HTTP/2
    assert connections == 1 and h2_bytes == [0]


def test_unknown_relay_kind_is_bad_input():
    with pytest.raises(BadInput, match="relay socket kind"):
        AtlsTransport(gate(), local="pipe")


def test_unix_relay_where_unix_sockets_are_missing_is_bad_input(monkeypatch):
    monkeypatch.setattr(bridge, "_has_unix_sockets", lambda: False)
    with pytest.raises(BadInput, match="use local='tcp'"):
        AtlsTransport(gate(), local="unix")
    assert AtlsTransport(gate())._local == "auto"  # noqa: SLF001 - auto falls back to TCP when opened

