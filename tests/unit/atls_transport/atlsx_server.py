"""A test-only aTLS server: the agent's ingress as COCOS-PROTOCOL.md §12 describes it.

TLS 1.3 with an ephemeral P-256 identity, frame 1 in, an exported authenticator whose leaf
carries a Cocos EAT around a SandboxTee report bound to THIS session (§12.5) out, then the
decrypted stream is relayed to a grpc.aio SandboxAgentService on loopback. Modes make it
misbehave the ways a client must survive: evidence from another session (relay attack),
report defects, a stalled exchange and an oversize frame.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL, crypto

from core.atls import build_authenticator, derive_exporters, suite_hash
from core.atls.binding import compute_binder, eat_nonce, report_data
from core.atls.bridge import _pump
from core.atls.frames import FRAME_AUTHENTICATOR, MAX_FRAME_PAYLOAD, encode_frame, parse_frame_header, parse_request
from core.atls.spki import raw_spki
from core.atls.tls import TlsPipe
from core.cocos.computation import Computation
from core.sandbox.eat_builder import AttestationServiceKey, encode_cose_eat, snp_claims, snp_raw_report
from core.sandbox.tee import SandboxTee
from core.sandbox.vtpm import SandboxVtpm

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MODES = ("good", "relay", "stall", "oversize", "wrong-measurement", "debug-policy")


@cache
def shared_tee() -> SandboxTee:
    """RSA-4096 chain generation is slow: one sandbox TEE for the whole test session."""
    state = tempfile.mkdtemp(prefix="prism-atlsx-tee-")
    atexit.register(shutil.rmtree, state, True)
    tee = SandboxTee(state)
    tee.ark_certificate()
    return tee


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def make_identity(cn: str = "cocos-atls-ephemeral", issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
                  | None = None, *, client: bool = False) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The agent's ephemeral identity (§11), or one issued by ``issuer`` (a CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ultraviolet")])
    now = datetime.now(timezone.utc)
    eku = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    cert = (x509.CertificateBuilder().subject_name(name)
            .issuer_name(issuer[0].subject if issuer else name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(hours=24))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .sign(issuer[1] if issuer else key, hashes.SHA256()))
    return cert, key


def make_ca(cn: str = "test aTLS CA") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


@dataclass
class AtlsTestServer:
    """Serve aTLS on 127.0.0.1 in threads; relay to ``backend_port`` (a grpc.aio insecure server)."""

    backend_port: int
    mode: str = "good"
    platform: str = "SNP"                      # or "SNP-vTPM"
    identity: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None
    client_ca: x509.Certificate | None = None  # maTLS: require a client certificate from this CA
    manifest: Computation | None = None        # SNP-vTPM: PCR16 is extended with it, as the agent does
    connections: int = 0
    h2_bytes: list[int] = field(default_factory=list)   # per connection: HTTP/2 bytes seen after frame 2
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(self.mode)
        self.identity = self.identity or make_identity()
        self.eat_key = AttestationServiceKey()
        self.vtpm = SandboxVtpm()
        if self.manifest is not None:
            self.vtpm.extend_manifest(self.manifest)
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self._wake_w.send(b"x")
        for thread in [self._accepter, *self._threads]:
            thread.join(timeout=10)
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)  # closing a socket does not wake accept(); poll the stop flag
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _context(self) -> SSL.Context:
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
        cert, key = self.identity
        ctx.use_certificate(cert)
        ctx.use_privatekey(key)
        ctx.set_alpn_select_callback(lambda _conn, offered: b"h2" if b"h2" in offered else offered[0])
        if self.client_ca is not None:
            store = ctx.get_cert_store()
            store.add_cert(crypto.X509.from_cryptography(self.client_ca))
            ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda _c, _x, _e, _d, ok: bool(ok))
        return ctx

    def _serve(self, sock: socket.socket) -> None:
        conn = SSL.Connection(self._context(), None)
        conn.set_accept_state()
        pipe = TlsPipe(sock, conn)
        deadline = time.monotonic() + 30
        try:
            pipe.handshake(deadline)
            header = pipe.read_exact(5, deadline, "frame 1")
            _, length = parse_frame_header(header)
            request = pipe.read_exact(length, deadline, "frame 1")
            if self.mode == "stall":
                self._stop.wait(30)
                return
            if self.mode == "oversize":
                pipe.write(bytes([FRAME_AUTHENTICATOR]) + (MAX_FRAME_PAYLOAD + 1).to_bytes(4, "big"), deadline)
                self._stop.wait(5)
                return
            pipe.write(encode_frame(FRAME_AUTHENTICATOR, self._authenticator(conn, request)), deadline)
            self._relay(pipe, deadline)
        except Exception as exc:  # noqa: BLE001 - the test inspects what went wrong
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            pipe.close()

    def _relay(self, pipe: TlsPipe, deadline: float) -> None:
        try:
            preface = pipe.read_exact(len(H2_PREFACE), deadline, "the HTTP/2 preface")
        except Exception:  # noqa: BLE001 - the client refused and hung up: no HTTP/2 byte arrived
            self.h2_bytes.append(0)
            raise
        self.h2_bytes.append(len(preface))
        backend = socket.create_connection(("127.0.0.1", self.backend_port))
        backend.sendall(preface)
        _pump(backend, pipe, self._stop, self._wake_r)

    def _authenticator(self, conn: SSL.Connection, request: bytes) -> bytes:
        hash_ = suite_hash(conn.get_cipher_name())
        exporters = derive_exporters(conn.export_keying_material, hash_, parse_request(request).context)
        cert, key = self.identity
        leaf = _der(cert)
        attestation = exporters.attestation if self.mode != "relay" else os.urandom(32)  # another session's
        binding = compute_binder(raw_spki(leaf), attestation, hash_).binding
        evidence = self._evidence(report_data(binding), eat_nonce(attestation))
        return build_authenticator(request, [leaf], key, exporters, evidence)

    def _evidence(self, binding64: bytes, nonce: bytes) -> bytes:
        tee = shared_tee()
        defect = self.mode if self.mode in ("wrong-measurement", "debug-policy") else None
        vtpm = self.platform == "SNP-vTPM"
        rd = hashlib.sha3_512(binding64 + self.vtpm.ak_pub()).digest() if vtpm else binding64
        report = tee.report(rd, misbehave=defect)
        raw = snp_raw_report(report, vcek_der=_der(tee.vcek_certificate()), ask_der=_der(tee.ask_certificate()),
                             ark_der=_der(tee.ark_certificate()))
        if vtpm:
            raw = self.vtpm.attestation(nonce, raw)
        return encode_cose_eat(snp_claims(report, raw, nonce, platform_type=self.platform), self.eat_key)
