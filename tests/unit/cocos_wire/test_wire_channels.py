"""Transports and client settings: TLS/mTLS to an agent, Go durations, the CLI's environment names."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cocos_wire_agent import TestAgent, serve_agent, signer
from cocos_wire_pki import make_pki
from core.cocos.agent_client import AgentClient
from core.cocos.channels import (
    ClientSettings,
    MutualTlsTransport,
    PlainTransport,
    TlsTransport,
    parse_go_duration,
    server_credentials,
)
from core.cocos.errors import AgentUnavailable
from core.errors import BadInput


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_agent_over_mutual_tls_and_refusal_without_a_client_certificate(tmp_path):
    pki = make_pki(tmp_path)
    algorithm = tmp_path / "algo"
    algorithm.write_bytes(b"binary")
    agent = TestAgent(algo_hash=hashlib.sha3_256(b"binary").digest(), datasets={})

    async def main():
        credentials = server_credentials(pki.server_cert, pki.server_key, client_ca_pem=pki.ca_pem)
        async with serve_agent(agent, credentials) as target:
            async with AgentClient(target=target, transport=TlsTransport(pki.ca_pem), signer=signer,
                                   timeout=5) as anonymous:
                assert await anonymous.health() is False
                with pytest.raises(AgentUnavailable):
                    await anonymous.upload_algorithm(algorithm, algo_type="bin")
            transport = MutualTlsTransport(pki.ca_pem, pki.client_cert, pki.client_key)
            async with AgentClient(target=target, transport=transport, signer=signer) as client:
                assert await client.health() is True
                await client.upload_algorithm(algorithm, algo_type="bin")

    run(main())
    assert agent.state == "Running" and len(agent.uploads) == 1


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("1h30m", 5400), ("10m", 600), ("1.5s", 1.5), ("250ms", 0.25), ("2us", 2e-6), ("0", 0),
    ("1h0m0.5s", 3600.5),
])
def test_go_durations(text, seconds):
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "10 m", "1d", "m", "-5s", "1h30", "s10"])
def test_bad_go_durations(text):
    with pytest.raises(BadInput, match="not a duration"):
        parse_go_duration(text)


@given(st.text(max_size=30))
def test_duration_parser_only_raises_bad_input(text):
    try:
        assert parse_go_duration(text) >= 0
    except BadInput:
        pass


def test_settings_from_the_cli_environment(tmp_path):
    pki = make_pki(tmp_path)
    (tmp_path / "ca.pem").write_bytes(pki.ca_pem)
    (tmp_path / "c.pem").write_bytes(pki.client_cert)
    (tmp_path / "k.pem").write_bytes(pki.client_key)
    plain = ClientSettings.from_env("AGENT_GRPC", {"AGENT_GRPC_URL": "host:6100"})
    assert plain == ClientSettings("host:6100", PlainTransport(), 60.0)
    tls = ClientSettings.from_env("MANAGER_GRPC", {"MANAGER_GRPC_URL": "m:6101", "MANAGER_GRPC_TIMEOUT": "5s",
                                                   "MANAGER_GRPC_SERVER_CA_CERTS": str(tmp_path / "ca.pem")})
    assert tls.transport == TlsTransport(pki.ca_pem) and tls.timeout == 5
    mutual = ClientSettings.from_env("AGENT_GRPC", {
        "AGENT_GRPC_URL": "a:1", "AGENT_GRPC_SERVER_CA_CERTS": str(tmp_path / "ca.pem"),
        "AGENT_GRPC_CLIENT_CERT": str(tmp_path / "c.pem"), "AGENT_GRPC_CLIENT_KEY": str(tmp_path / "k.pem")})
    assert isinstance(mutual.transport, MutualTlsTransport) and "PRIVATE KEY" not in repr(mutual)
    for env, reason in (({}, "AGENT_GRPC_URL is not set"),
                        ({"AGENT_GRPC_URL": "a:1", "AGENT_GRPC_CLIENT_CERT": "x"}, "both"),
                        ({"AGENT_GRPC_URL": "a:1", "AGENT_GRPC_SERVER_CA_CERTS": str(tmp_path / "nope")},
                         "cannot read")):
        with pytest.raises(BadInput, match=reason):
            ClientSettings.from_env("AGENT_GRPC", env)
