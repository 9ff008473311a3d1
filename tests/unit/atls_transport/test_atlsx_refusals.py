"""Every way an aTLS agent must be refused, and that nothing reaches it when it is."""

from __future__ import annotations

import asyncio
import socket
import ssl
import tempfile
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization

from atlsx_server import make_identity
from atlsx_support import Party, computation, gate, run, sandbox_policy, stack
from core.atls.bridge import AtlsTransport
from core.atls.client import connect_atls
from core.atls.errors import AtlsProtocolError
from core.atls.gate import AttestationRefused
from core.atls.tls import AtlsConnectError, AtlsTimeout, AtlsTlsVersionError
from core.attestation.verdict import Stage, Status
from core.errors import BadInput, Refused

pytestmark = pytest.mark.timeout(60)


def _refused(tmp_path, *, policy=None, trust_sandbox=True, comp=None, **server_options):  # noqa: ANN001, ANN003, ANN202
    async def main():
        async with stack(comp or computation(Party()), tmp_path, **server_options) as s:
            transport = AtlsTransport(gate(trust_sandbox=trust_sandbox, policy=policy, comp=comp))
            with pytest.raises(AttestationRefused) as caught:
                await transport.connect(s.server.target)
            await transport.close()
            await asyncio.sleep(0.05)  # let the server thread record what it saw
            return s, transport, caught.value

    s, transport, error = run(main())
    # refused before any HTTP/2 byte: the agent received nothing, the server saw the client hang up
    assert s.service.received_bytes == 0 and s.server.h2_bytes == [0]
    assert transport.verdict is error.verdict and not error.verdict.acceptable
    assert isinstance(error, Refused) and error.code == "attestation-refused"
    return error.verdict, str(error)


def _status(verdict, check_id):  # noqa: ANN001, ANN202
    check = verdict.get(check_id)
    return check.status if check else None


def test_untrusted_sandbox_root_is_refused(tmp_path):
    verdict, message = _refused(tmp_path, trust_sandbox=False)
    assert not verdict.authentic
    snp_failures = [c.id for c in verdict.failures() if c.id.startswith("snp.")]
    assert snp_failures, [c.id for c in verdict.failures()]
    # the session binding itself is fine: only the hardware root is not trusted
    assert _status(verdict, "atls.report_data.binding") is Status.PASS
    assert all(c.status is Status.PASS for c in verdict.checks if c.id.startswith("atls."))
    assert "no data was sent" in message and snp_failures[0] in message


def test_evidence_bound_to_another_session_is_refused(tmp_path):
    verdict, _ = _refused(tmp_path, mode="relay")
    assert _status(verdict, "atls.report_data.binding") is Status.FAIL
    assert _status(verdict, "atls.eat.nonce") is Status.FAIL
    # the relayed report is genuine and the binder names this session; only the binding betrays it
    assert _status(verdict, "snp.signature") is Status.PASS
    assert _status(verdict, "atls.binder") is Status.PASS


def test_wrong_measurement_policy_is_refused(tmp_path):
    verdict, _ = _refused(tmp_path, policy=sandbox_policy(measurements=(b"\x42" * 48,)))
    assert verdict.authentic
    assert _status(verdict, "policy.measurement") is Status.FAIL
    assert verdict.get("policy.measurement").stage is Stage.VALIDATE
    assert [c.id for c in verdict.failures()] == ["policy.measurement"]


def test_debug_report_against_no_debug_policy_is_refused(tmp_path):
    verdict, _ = _refused(tmp_path, mode="debug-policy")
    assert verdict.authentic
    assert [c.id for c in verdict.failures()] == ["policy.debug"]


def test_wrong_measurement_report_is_refused(tmp_path):
    verdict, _ = _refused(tmp_path, mode="wrong-measurement")
    assert [c.id for c in verdict.failures()] == ["policy.measurement"]


def test_snp_vtpm_evidence_is_verified_with_the_session_nonce(tmp_path):
    comp = computation(Party())

    async def main():
        async with stack(comp, tmp_path, platform="SNP-vTPM", manifest=comp) as s:
            transport = AtlsTransport(gate(comp=comp))
            verdict = await transport.connect(s.server.target)
            await transport.close()
            return verdict

    verdict = run(main())
    assert verdict.acceptable and verdict.platform == "snp-vtpm"
    for check_id in ("atls.report_data.binding", "vtpm.ak.binding", "snp.signature", "policy.measurement"):
        assert _status(verdict, check_id) is Status.PASS, check_id
    vtpm = [c for c in verdict.checks if c.id.startswith("vtpm.")]
    assert len(vtpm) >= 4 and all(c.status in (Status.PASS, Status.SKIP) for c in vtpm)
    assert any("pcr16" in c.id and c.status is Status.PASS for c in vtpm), [c.id for c in vtpm]


def test_snp_vtpm_with_another_manifest_fails_pcr16(tmp_path):
    comp, other = computation(Party()), computation(Party())
    verdict, _ = _refused(tmp_path, comp=comp, platform="SNP-vTPM", manifest=other)
    failed = [c.id for c in verdict.failures()]
    assert failed and all("pcr16" in f for f in failed), failed
    assert _status(verdict, "vtpm.ak.binding") is Status.PASS


# --- transport failures -----------------------------------------------------------------------


def test_tls12_only_server_gives_a_clear_error():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    cert, key = make_identity()
    with tempfile.NamedTemporaryFile(suffix=".pem") as pem:
        pem.write(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        pem.flush()
        ctx.load_cert_chain(pem.name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        sock, _ = listener.accept()
        try:
            ctx.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            pass
        finally:
            sock.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with pytest.raises(AtlsTlsVersionError, match="does not speak TLS 1.3") as caught:
        run(connect_atls("127.0.0.1", port, policy_gate=gate(), timeout=5))
    assert caught.value.code == "atls-tls-version"
    thread.join(5)
    listener.close()


def test_stalled_server_times_out(tmp_path):
    async def main():
        async with stack(computation(Party()), tmp_path, mode="stall") as s:
            started = time.monotonic()
            with pytest.raises(AtlsTimeout, match="in time") as caught:
                await connect_atls("127.0.0.1", s.server.port, policy_gate=gate(), timeout=0.8)
            return time.monotonic() - started, caught.value, s

    elapsed, error, s = run(main())
    assert 0.7 <= elapsed < 3 and error.code == "atls-timeout"
    assert s.service.received_bytes == 0


def test_oversize_frame_is_rejected(tmp_path):
    async def main():
        async with stack(computation(Party()), tmp_path, mode="oversize") as s:
            with pytest.raises(AtlsProtocolError, match="frame payload too large: 16777217"):
                await connect_atls("127.0.0.1", s.server.port, policy_gate=gate(), timeout=5)

    run(main())


def test_nothing_listening_is_a_connect_error():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(AtlsConnectError, match="cannot connect") as caught:
        run(connect_atls("127.0.0.1", port, policy_gate=gate(), timeout=2))
    assert caught.value.code == "atls-connect"


def test_non_positive_timeout_is_bad_input():
    with pytest.raises(BadInput, match="timeout"):
        run(connect_atls("127.0.0.1", 1, policy_gate=gate(), timeout=0))
