"""The ingress in-process: aTLS exchange and binding, misbehaviours, robustness, TLS/mTLS relays."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import pytest
from cryptography import x509
from OpenSSL import SSL
from sbhost_support import Party, atls_exchange, computation, tee_dir

from core.atls import checks as C
from core.atls.frames import FRAME_REQUEST, encode_frame
from core.attestation.verdict import Status
from core.cocos.agent_client import AgentClient
from core.cocos.channels import MutualTlsTransport, TlsTransport
from core.cocos.computation import AgentConfig
from core.errors import BadInput
from core.sandbox.agent_process import health_handler
from core.sandbox.agent_service import SandboxAgentService
from core.sandbox.ingress import (
    Ingress, IngressConfig, IngressError, config_from_agent_config, ephemeral_identity, tee_evidence,
)
from core.sandbox.tee import DEBUG_BIT, SANDBOX_MEASUREMENT, SandboxTee
from proto.agent import agent_pb2_grpc

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(asyncio.wait_for(coro, 30))


@asynccontextmanager
async def agent_behind(config: IngressConfig, tmp_path, misbehave: str | None = None) -> AsyncIterator[Ingress]:  # noqa: ANN001
    tee = SandboxTee(tee_dir())
    service = SandboxAgentService(computation(Party()), tee, work_dir=tmp_path / "work", misbehave=misbehave)
    server = grpc.aio.server()
    agent_pb2_grpc.add_AgentServiceServicer_to_server(service, server)
    server.add_generic_rpc_handlers((health_handler(),))
    upstream = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    evidence = tee_evidence(tee, service.vtpm, misbehave=misbehave) if config.mode == "atls" else None
    ingress = Ingress(config, ("127.0.0.1", upstream), evidence=evidence, handshake_timeout=3)
    await ingress.start()
    try:
        yield ingress
    finally:
        await ingress.stop()
        await server.stop(None)


def _statuses(result) -> dict[str, Status]:  # noqa: ANN001
    return {c.id: c.status for c in result.checks}


def _atls_then_h2(port: int):  # noqa: ANN202
    result, conn = atls_exchange(port)
    conn.sendall(H2_PREFACE + EMPTY_SETTINGS)
    header = b""
    while len(header) < 9:
        header += conn.recv(9 - len(header))
    conn.close()
    return result, header


def test_atls_exchange_binds_the_session_and_relays_h2c(tmp_path) -> None:
    async def scenario():  # noqa: ANN202
        async with agent_behind(IngressConfig("atls"), tmp_path) as ingress:
            return await asyncio.to_thread(_atls_then_h2, ingress.port)

    result, header = run(scenario())
    assert result.passed, [c for c in result.checks if c.status is Status.FAIL]
    assert _statuses(result)[C.REPORT_DATA_BINDING] is Status.PASS
    assert result.hardware is not None and result.hardware.platform == "snp-vtpm"
    assert result.hardware.snp_report.measurement == SANDBOX_MEASUREMENT
    leaf = x509.load_der_x509_certificate(result.leaf_der)
    assert leaf.subject.rfc4514_string() == "O=Ultraviolet,CN=cocos-atls-ephemeral"
    assert header[3] == 0x04  # the agent's grpc server answered with an HTTP/2 SETTINGS frame


@pytest.mark.parametrize("mode", ["wrong-measurement", "broken-binding", "debug-policy"])
def test_misbehaviours_show_their_defect(tmp_path, mode: str) -> None:
    async def scenario():  # noqa: ANN202
        async with agent_behind(IngressConfig("atls"), tmp_path, misbehave=mode) as ingress:
            return (await asyncio.to_thread(atls_exchange, ingress.port))[0]

    result = run(scenario())
    statuses = _statuses(result)
    assert statuses[C.FINISHED] is Status.PASS and statuses[C.BINDER] is Status.PASS
    report = result.hardware.snp_report
    if mode == "broken-binding":
        assert statuses[C.REPORT_DATA_BINDING] is Status.FAIL
    else:
        assert statuses[C.REPORT_DATA_BINDING] is Status.PASS
    assert (report.measurement != SANDBOX_MEASUREMENT) == (mode == "wrong-measurement")
    assert bool(report.policy.raw & DEBUG_BIT) == (mode == "debug-policy")


def _probe_tcp(port: int) -> None:
    socket.create_connection(("127.0.0.1", port)).close()


def _probe_garbage(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(100) is not None


def _probe_tls12(port: int) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", port)) as sock, pytest.raises(ssl.SSLError):
        context.wrap_socket(sock)


def _probe_no_cmw_offer(port: int) -> None:
    ctx = SSL.Context(SSL.TLS_METHOD)
    sock = socket.create_connection(("127.0.0.1", port))
    conn = SSL.Connection(ctx, sock)
    conn.set_connect_state()
    conn.do_handshake()
    # A CertificateRequest without the 0xFF00 offer: the server must drop only this connection.
    conn.sendall(encode_frame(FRAME_REQUEST, bytes.fromhex("1100000801aa0004000d0000")))
    with pytest.raises((SSL.Error, ConnectionError)):
        if not conn.recv(10):
            raise ConnectionError("closed")


def test_failed_handshakes_do_not_kill_the_ingress(tmp_path) -> None:
    async def scenario():  # noqa: ANN202
        async with agent_behind(IngressConfig("atls"), tmp_path) as ingress:
            for probe in (_probe_tcp, _probe_garbage, _probe_tls12, _probe_no_cmw_offer):
                await asyncio.to_thread(probe, ingress.port)
            result = (await asyncio.to_thread(atls_exchange, ingress.port))[0]
            await asyncio.sleep(0.1)
            return result, ingress.failed_handshakes

    result, failed = run(scenario())
    assert result.passed
    assert failed == 4


def test_a_stalled_client_is_cut_off_and_does_not_block_others(tmp_path) -> None:
    async def scenario():  # noqa: ANN202
        async with agent_behind(IngressConfig("atls"), tmp_path) as ingress:
            stalled = socket.create_connection(("127.0.0.1", ingress.port))
            result = (await asyncio.to_thread(atls_exchange, ingress.port))[0]
            await asyncio.sleep(3.5)
            stalled.close()
            return result, ingress.failed_handshakes

    result, failed = run(scenario())
    assert result.passed and failed == 1


def test_tls_and_mtls_relay_grpc(tmp_path) -> None:
    from tests.unit.cocos_wire.cocos_wire_pki import make_pki  # noqa: PLC0415 - the project test PKI
    pki = make_pki(tmp_path / "pki")

    async def scenario():  # noqa: ANN202
        outcomes = []
        tls = IngressConfig("tls", pki.server_cert, pki.server_key)
        async with agent_behind(tls, tmp_path) as ingress:
            async with AgentClient(target=f"localhost:{ingress.port}", transport=TlsTransport(pki.ca_pem)) as c:
                outcomes.append(await c.health())
        mtls = IngressConfig("mtls", pki.server_cert, pki.server_key, pki.ca_pem)
        async with agent_behind(mtls, tmp_path) as ingress:
            good = MutualTlsTransport(pki.ca_pem, pki.client_cert, pki.client_key)
            async with AgentClient(target=f"localhost:{ingress.port}", transport=good) as c:
                outcomes.append(await c.health())
            stranger = MutualTlsTransport(pki.ca_pem, pki.stranger_cert, pki.stranger_key)
            async with AgentClient(target=f"localhost:{ingress.port}", transport=stranger, timeout=3) as c:
                try:
                    outcomes.append(await c.health())
                except Exception as exc:  # noqa: BLE001 - any refusal is the expected outcome
                    outcomes.append(type(exc).__name__)
        return outcomes

    outcomes = run(scenario())
    assert outcomes[:2] == [True, True]
    assert outcomes[2] is not True


def test_agent_config_selects_the_mode(tmp_path) -> None:
    cert, _ = ephemeral_identity()
    pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"
    key_file = tmp_path / "key.pem"
    key_file.write_text("-----BEGIN PRIVATE KEY-----\n")
    assert config_from_agent_config(None).mode == "plain"
    assert config_from_agent_config(AgentConfig(attested_tls=True)).mode == "atls"
    assert config_from_agent_config(AgentConfig(cert_file=pem, key_file=str(key_file))).mode == "tls"
    assert config_from_agent_config(AgentConfig(cert_file=pem, key_file=pem, client_ca_file=pem)).mode == "mtls"
    with pytest.raises(BadInput, match="neither PEM text nor a readable file"):
        config_from_agent_config(AgentConfig(cert_file=pem, key_file=str(tmp_path / "missing")))
    with pytest.raises(IngressError, match="aTLS needs a TEE"):
        Ingress(IngressConfig("atls"), ("127.0.0.1", 1))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds() == 25 * 3600
