"""The aTLS client (COCOS-PROTOCOL.md §11-§12): handshake, authenticator exchange, attestation gate.

``connect_atls`` opens TCP, performs a TLS 1.3 handshake (ALPN h2, no X.509 validation unless a
CA is given), writes frame 1 at once, reads frame 2 (16 MiB cap, short deadline), derives the
exporters from this very session, verifies the authenticator and hands the result to the
attestation gate. Only an acceptable Verdict yields a connection; otherwise the socket is
closed before any HTTP/2 byte leaves and ``AttestationRefused`` carries the Verdict.
The blocking work runs in a worker thread; the event loop never waits on a socket.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from core.atls.authenticator import AuthenticatorResult, make_request, verify_authenticator
from core.atls.errors import AtlsProtocolError
from core.atls.frames import (
    FRAME_AUTHENTICATOR, FRAME_HEADER_SIZE, FRAME_REQUEST, encode_frame, parse_frame_header, parse_request,
)
from core.atls.gate import AttestationGate
from core.atls.suites import derive_exporters, suite_hash
from core.atls.tls import ClientIdentity, TlsPipe, client_context
from core.attestation.verdict import Check, Status, Verdict
from core.errors import BadInput

__all__ = ["AtlsConnection", "AtlsSession", "connect_atls", "establish_atls"]

_log = logging.getLogger(__name__)

TLS_CHECK = "atls.tls"
CA_CHAIN_CHECK = "atls.ca_chain"


@dataclass(frozen=True, slots=True)
class AtlsSession:
    """What was negotiated and verified on one aTLS connection."""

    host: str
    port: int
    tls_version: str
    cipher: str
    alpn: bytes
    request_context: bytes
    result: AuthenticatorResult
    verdict: Verdict


class AtlsConnection:
    """A verified aTLS connection whose attestation passed the gate; HTTP/2 may start on it."""

    def __init__(self, pipe: TlsPipe, session: AtlsSession) -> None:
        self.pipe = pipe
        self.session = session

    @property
    def verdict(self) -> Verdict:
        return self.session.verdict

    def close(self) -> None:
        self.pipe.close()


def _tls_check(version: str, cipher: str) -> Check:
    ok = version == "TLSv1.3"
    return Check(TLS_CHECK, Status.PASS if ok else Status.FAIL,
                 "The connection uses TLS 1.3 with a cipher suite attested TLS supports." if ok else
                 "ea: not TLS 1.3. Attested TLS needs TLS 1.3; this connection cannot be bound.",
                 expected="TLSv1.3", actual=f"{version} {cipher}")


def _ca_check(chain_der: Sequence[bytes], ca_pem: bytes, at: datetime | None) -> Check:
    """§12.6 item 7: the authenticator's leaf must chain to the configured CA (no hostname check)."""
    try:
        anchors = x509.load_pem_x509_certificates(ca_pem)
        chain = [x509.load_der_x509_certificate(der) for der in chain_der]
    except ValueError as exc:
        return Check(CA_CHAIN_CHECK, Status.FAIL, f"The CA or the agent's certificates do not parse ({exc}).")
    now = at or datetime.now(timezone.utc)
    problem = _walk_chain(chain, anchors, now)
    subject = chain[0].subject.rfc4514_string()
    if problem:
        return Check(CA_CHAIN_CHECK, Status.FAIL, f"The agent's certificate does not chain to the CA you "
                     f"configured: {problem}.", expected="issued by the configured CA", actual=subject)
    return Check(CA_CHAIN_CHECK, Status.PASS, "The agent's certificate was issued by the CA you configured.",
                 expected="issued by the configured CA", actual=subject)


def _walk_chain(chain: list[x509.Certificate], anchors: list[x509.Certificate], now: datetime) -> str:
    pool = chain[1:] + anchors
    current = chain[0]
    for _ in range(len(pool) + 1):
        if not current.not_valid_before_utc <= now <= current.not_valid_after_utc:
            return f"{current.subject.rfc4514_string()} is not valid at {now:%Y-%m-%d %H:%M} UTC"
        for anchor in anchors:
            if anchor == current or _issued_by(current, anchor):
                return ""
        issuer = next((c for c in pool if c != current and _issued_by(current, c)), None)
        if issuer is None:
            return f"no issuer found for {current.subject.rfc4514_string()}"
        current = issuer
    return "the chain is too long or loops"


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (InvalidSignature, ValueError, TypeError):  # not signed by this one, or a different key type
        return False


def _exchange(pipe: TlsPipe, context: bytes | None, deadline: float) -> tuple[bytes, bytes]:
    """Frame 1 out immediately (§12.7), frame 2 back: (request, authenticator)."""
    request = make_request(context)
    pipe.write(encode_frame(FRAME_REQUEST, request), deadline)
    frame_type, length = parse_frame_header(pipe.read_exact(FRAME_HEADER_SIZE, deadline, "the authenticator"))
    if frame_type != FRAME_AUTHENTICATOR:
        raise AtlsProtocolError(f"expected aTLS frame type {FRAME_AUTHENTICATOR} but got {frame_type}; "
                                "the peer does not speak aTLS")
    return request, pipe.read_exact(length, deadline, "the authenticator")


def establish_atls(host: str, port: int, *, policy_gate: AttestationGate, request_context: bytes | None = None,
                   client_cert: ClientIdentity | None = None, ca_pem: bytes | None = None,
                   timeout: float = 10.0) -> AtlsConnection:
    """The blocking form of ``connect_atls`` (for worker threads such as the bridge's relay)."""
    if timeout <= 0:
        raise BadInput(f"the aTLS timeout must be positive, not {timeout}")
    deadline = time.monotonic() + timeout
    pipe = TlsPipe.connect(host, port, client_context(client_cert), deadline)
    try:
        pipe.handshake(deadline)
        request, authenticator = _exchange(pipe, request_context, deadline)
        session = _verify(pipe, host, port, request, authenticator, policy_gate, ca_pem)
    except BaseException:
        pipe.close()  # refused or broken: nothing but frame 1 ever went out
        raise
    return AtlsConnection(pipe, session)


def _verify(pipe: TlsPipe, host: str, port: int, request: bytes, authenticator: bytes,
            gate: AttestationGate, ca_pem: bytes | None) -> AtlsSession:
    conn = pipe.conn
    version, cipher = conn.get_protocol_version_name(), conn.get_cipher_name() or ""
    hash_ = suite_hash(cipher)
    context = parse_request(request).context
    exporters = derive_exporters(conn.export_keying_material, hash_, context)
    peer = conn.get_peer_certificate(as_cryptography=True)
    peer_der = peer.public_bytes(Encoding.DER) if peer is not None else b""
    result = verify_authenticator(request, authenticator, exporters, tls_leaf_der=peer_der)
    checks = [_tls_check(version, cipher)]
    if ca_pem is not None:
        checks.append(_ca_check(result.chain_der, ca_pem, gate.at))
    verdict = gate.enforce(result, transport_checks=checks)
    _log.info("aTLS to %s:%d verified (%s, %s)", host, port, version, cipher)
    return AtlsSession(host, port, version, cipher, conn.get_alpn_proto_negotiated() or b"", context,
                       result, verdict)


async def connect_atls(host: str, port: int, *, policy_gate: AttestationGate, request_context: bytes | None = None,
                       client_cert: ClientIdentity | None = None, ca_pem: bytes | None = None,
                       timeout: float = 10.0) -> AtlsConnection:
    """Open and verify one aTLS connection; raises AttestationRefused (with the Verdict) on refusal."""
    work = asyncio.get_running_loop().run_in_executor(None, functools.partial(
        establish_atls, host, port, policy_gate=policy_gate, request_context=request_context,
        client_cert=client_cert, ca_pem=ca_pem, timeout=timeout))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        # the worker cannot be interrupted; close whatever it still establishes so no socket leaks
        work.add_done_callback(_close_late)
        raise


def _close_late(work: asyncio.Future[AtlsConnection]) -> None:
    if not work.cancelled() and work.exception() is None:
        work.result().close()

