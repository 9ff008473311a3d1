"""The gate on sessions captured from the real Cocos server, and on frames no agent should send."""

from __future__ import annotations

import json
import socket
import threading
import time
import warnings
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from OpenSSL import SSL

from atlsx_server import make_identity
from atlsx_support import gate, run
from core.atls import SessionExporters, suite_hash, verify_authenticator
from core.atls.client import connect_atls
from core.atls.gate import AttestationGate, AttestationRefused
from core.atls.tls import TlsPipe
from core.attestation.roots import TrustStore
from core.attestation.snp.policy import SnpPolicy
from core.attestation.verdict import Status
from core.errors import PrismError
from tests.conftest import shared_testdata

pytestmark = pytest.mark.timeout(120)

SETS = ["snp_aes128", "snp_aes256_sha384", "tdx_jwt_aes128"]
#: the captured reports are older than their certificates' end of life; check them at capture time
CAPTURE_TIME = datetime(2026, 7, 15, tzinfo=timezone.utc)
#: the report/quote signature and its certificate chain up to the pinned vendor root
GENUINE_HARDWARE = {
    "snp": ("snp.report.parse", "snp.chain.ark", "snp.chain.ask", "snp.chain.vcek", "snp.validity",
            "snp.signature"),
    "tdx": ("tdx.quote.parse", "tdx.pck.chain", "tdx.pck.validity", "tdx.signature", "tdx.qe.signature",
            "tdx.qe.binding"),
}


def _captured(name: str):  # noqa: ANN202
    base = shared_testdata("cocos", "atls", name)
    t = json.loads((base / "transcript.json").read_text())
    exporters = SessionExporters(
        suite_hash(t["cipher_suite"]), bytes.fromhex(t["exporter_server_authenticator_handshake_context_hex"]),
        bytes.fromhex(t["exporter_server_authenticator_finished_key_hex"]),
        bytes.fromhex(t["exporter_attestation_hex"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample VCEK has a serial the X.509 parser warns about
        return verify_authenticator((base / "ea_request.bin").read_bytes(),
                                    (base / "ea_authenticator.bin").read_bytes(), exporters,
                                    tls_leaf_der=(base / "leaf.der").read_bytes())


@pytest.mark.parametrize("name", SETS)
def test_real_sessions_are_refused_as_relays_with_one_verdict(name):
    result = _captured(name)
    policy = SnpPolicy() if name.startswith("snp") else None
    gate_ = AttestationGate(policy, trust=TrustStore(), at=CAPTURE_TIME)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AttestationRefused) as caught:
            gate_.enforce(result)
    verdict = caught.value.verdict
    assert verdict.platform == name.split("_")[0]
    # genuine exchange, genuine binder ... but the hardware evidence is not for this session
    for check_id in ("atls.context", "atls.certificate_verify", "atls.finished", "atls.binder", "atls.eat.nonce"):
        assert verdict.get(check_id).status is Status.PASS, check_id
    assert verdict.get("atls.report_data.binding").status is Status.FAIL
    # ... and that is the only failure: the hardware evidence itself is genuine at capture time
    assert [c.id for c in verdict.failures()] == ["atls.report_data.binding"]
    for check_id in GENUINE_HARDWARE[verdict.platform]:
        assert verdict.get(check_id).status is Status.PASS, check_id
    assert "atls.report_data.binding" in str(caught.value)


def test_evaluate_without_evidence_fails_closed():
    result = _captured("snp_aes128")
    verdict = AttestationGate(None, trust=TrustStore()).evaluate(replace(result, hardware=None))
    assert verdict.get("attestation.evidence").status is Status.FAIL and not verdict.acceptable


def test_policy_for_the_wrong_platform_is_a_failed_check():
    result = _captured("tdx_jwt_aes128")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        verdict = AttestationGate(SnpPolicy(), trust=TrustStore(), at=CAPTURE_TIME).evaluate(result)
    check = verdict.get("attestation.evidence")
    assert check.status is Status.FAIL and "policy is for SNP" in check.explanation
    assert not verdict.acceptable


# --- arbitrary bytes in place of frame 2 ---------------------------------------------------------

class _ScriptedServer:
    """TLS 1.3 server that answers frame 1 with whatever bytes the test queued."""

    def __init__(self) -> None:
        self.replies: list[bytes] = []
        cert, key = make_identity()
        self.ctx = SSL.Context(SSL.TLS_METHOD)
        self.ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
        self.ctx.use_certificate(cert)
        self.ctx.use_privatekey(key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            conn = SSL.Connection(self.ctx, None)
            conn.set_accept_state()
            pipe = TlsPipe(sock, conn)
            try:
                deadline = time.monotonic() + 5
                pipe.handshake(deadline)
                header = pipe.read_exact(5, deadline, "frame 1")
                pipe.read_exact(int.from_bytes(header[1:], "big"), deadline, "frame 1")
                pipe.write(self.replies.pop(0), deadline)
            except PrismError:
                pass
            finally:
                pipe.close()


@pytest.fixture(scope="module")
def scripted():
    server = _ScriptedServer()
    yield server
    server.listener.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reply=st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda p: b"\x02" + len(p).to_bytes(4, "big") + p),
    st.tuples(st.integers(0, 255), st.binary(max_size=200)).map(
        lambda t: bytes([t[0]]) + len(t[1]).to_bytes(4, "big") + t[1])))
def test_only_typed_errors_escape_for_any_frame_2(scripted, reply):
    scripted.replies.append(reply)
    with pytest.raises(PrismError) as caught:
        run(connect_atls("127.0.0.1", scripted.port, policy_gate=gate(), timeout=2))
    assert caught.value.code.startswith(("atls-", "attestation-refused"))
