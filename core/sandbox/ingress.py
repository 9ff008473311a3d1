"""The agent's ingress proxy: plain h2c, TLS, mTLS or aTLS on one port, relayed as h2c upstream.

It reproduces the Cocos ingress (COCOS-PROTOCOL.md §11, §12) with one deliberate difference:
the real one runs the aTLS handshake inside its accept loop, so a port probe or a TLS 1.2
client kills it (§12.7). Here every connection is its own task with a handshake deadline, and a
failed handshake only drops that connection.

TLS runs through pyOpenSSL on memory BIOs (stdlib ``ssl`` has no exporter API), so the whole
proxy lives on one asyncio loop next to the agent's grpc.aio server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL, crypto

from core.atls.binding import compute_binder, eat_nonce, report_data
from core.atls.builder import build_authenticator
from core.atls.frames import (
    FRAME_AUTHENTICATOR, FRAME_HEADER_SIZE, FRAME_REQUEST, encode_frame, parse_frame_header, parse_request,
)
from core.atls.spki import raw_spki
from core.atls.suites import derive_exporters, suite_hash
from core.cocos.computation import AgentConfig
from core.errors import BadInput, PrismError, Refused
from core.sandbox.eat_builder import AttestationServiceKey, encode_cose_eat, snp_claims, snp_raw_report
from core.sandbox.tee import REPORT_DEFECTS, SandboxTee
from core.sandbox.vtpm import SandboxVtpm

log = logging.getLogger(__name__)

MODES = ("plain", "tls", "mtls", "atls")
_READ_SIZE = 64 * 1024

#: (exported_value, binding) -> the EAT for the leaf's cmw_attestation payload
EvidenceSource = Callable[[bytes, bytes], bytes]


class IngressError(Refused):
    """The ingress cannot start in the requested mode."""

    code = "ingress"


class _ConnectionClosed(Exception):
    """The peer went away mid-exchange (an ordinary event for a proxy, never surfaced)."""


@dataclass(frozen=True, slots=True)
class IngressConfig:
    """The transport the manifest's agent_config selects; PEM bytes, never paths."""

    mode: str = "plain"
    cert_pem: bytes = b""
    key_pem: bytes = field(default=b"", repr=False)
    client_ca_pem: bytes = b""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise BadInput(f"ingress mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.mode in ("tls", "mtls") and not (self.cert_pem and self.key_pem):
            raise BadInput(f"ingress mode {self.mode} needs a certificate and its key")
        if self.mode == "mtls" and not self.client_ca_pem:
            raise BadInput("ingress mode mtls needs the client CA certificate")


def _pem_or_file(value: str, what: str) -> bytes:
    # AgentConfig file fields carry PEM content or a path inside the (here: local) CVM.
    if not value:
        return b""
    if "-----BEGIN " in value:
        return value.encode("ascii")
    try:
        return Path(value).read_bytes()
    except OSError as exc:
        raise BadInput(f"the manifest's agent_config {what} {value!r} is neither PEM text nor a readable "
                       f"file ({exc.strerror}); put the PEM content into the manifest") from None


def config_from_agent_config(agent_config: AgentConfig | None) -> IngressConfig:
    """§11: attested_tls selects aTLS (maTLS with a client CA); cert+key select TLS or mTLS."""
    if agent_config is None:
        return IngressConfig()
    cert = _pem_or_file(agent_config.cert_file, "cert_file")
    key = _pem_or_file(agent_config.key_file, "key_file")
    client_ca = _pem_or_file(agent_config.client_ca_file, "client_ca_file")
    if agent_config.attested_tls:
        return IngressConfig("atls", cert, key, client_ca)
    if cert and key:
        return IngressConfig("mtls" if client_ca else "tls", cert, key, client_ca)
    return IngressConfig()


def ephemeral_identity() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The aTLS identity used without cert/key: self-signed P-256, as §11 describes it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cocos-atls-ephemeral"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ultraviolet")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(int.from_bytes(os.urandom(16), "big") >> 1)
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(hours=24))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def tee_evidence(tee: SandboxTee, vtpm: SandboxVtpm, *, misbehave: str | None = None) -> EvidenceSource:
    """Evidence bound to a session in the SNP-vTPM form of §12.5 (the manager's default platform).

    REPORT_DATA = SHA3-512(SHA-512(binding) || AK_pub); quote extraData = eat_nonce =
    SHA-256(exported_value). Report defects (misbehaviour) come from the TEE itself.
    """
    key = AttestationServiceKey()
    defect = misbehave if misbehave in REPORT_DEFECTS else None

    def evidence(exported_value: bytes, binding: bytes) -> bytes:
        nonce = eat_nonce(exported_value)
        ak_pub = vtpm.ak_pub()
        report = tee.report(hashlib.sha3_512(report_data(binding) + ak_pub).digest(), misbehave=defect)
        der = serialization.Encoding.DER
        raw = snp_raw_report(report, vcek_der=tee.vcek_certificate().public_bytes(der),
                             ask_der=tee.ask_certificate().public_bytes(der),
                             ark_der=tee.ark_certificate().public_bytes(der))
        raw = vtpm.attestation(nonce, raw)
        return encode_cose_eat(snp_claims(report, raw, nonce, platform_type="SNP-vTPM"), key)

    return evidence


# --- byte pipes ------------------------------------------------------------------------------

class _PlainPipe:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def recv(self) -> bytes:
        return await self.reader.read(_READ_SIZE)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


class _TlsPipe:
    """A pyOpenSSL server connection driven through memory BIOs by an asyncio stream."""

    def __init__(self, context: SSL.Context, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.conn = SSL.Connection(context, None)
        self.conn.set_accept_state()
        self.reader, self.writer = reader, writer

    async def _flush(self) -> None:
        while True:
            try:
                data = self.conn.bio_read(_READ_SIZE)
            except SSL.WantReadError:
                break
            self.writer.write(data)
        await self.writer.drain()

    async def _feed(self) -> bool:
        await self._flush()
        data = await self.reader.read(_READ_SIZE)
        if not data:
            return False
        self.conn.bio_write(data)
        return True

    async def handshake(self) -> None:
        while True:
            try:
                self.conn.do_handshake()
                break
            except SSL.WantReadError:
                if not await self._feed():
                    raise _ConnectionClosed("closed during the TLS handshake") from None
        await self._flush()

    async def recv(self) -> bytes:
        while True:
            try:
                return self.conn.recv(_READ_SIZE)
            except SSL.WantReadError:
                if not await self._feed():
                    return b""
            except SSL.ZeroReturnError:
                return b""

    async def recv_exactly(self, size: int) -> bytes:
        buf = bytearray()
        while len(buf) < size:
            try:
                buf += self.conn.recv(size - len(buf))
            except SSL.WantReadError:
                if not await self._feed():
                    raise _ConnectionClosed("closed before the aTLS request frame") from None
            except SSL.ZeroReturnError:
                raise _ConnectionClosed("closed before the aTLS request frame") from None
        return bytes(buf)

    async def send(self, data: bytes) -> None:
        self.conn.sendall(data)  # memory BIO: never blocks; the bytes leave on flush
        await self._flush()


# --- the server ---------------------------------------------------------------------------

class Ingress:
    """Listens on ``host:port`` (0 = ephemeral), or on ``sock``, and relays each connection to ``upstream``.

    ``sock`` is an already bound socket (the host's port reservation); ``start`` makes it listen
    and ``stop`` closes it.

    ``evidence`` is required in aTLS mode: without a TEE the real ingress does not start and
    nothing listens (§11); here that is an ``IngressError``.
    """

    def __init__(self, config: IngressConfig, upstream: tuple[str, int], *, evidence: EvidenceSource | None = None,
                 host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None,
                 handshake_timeout: float = 10.0) -> None:
        if config.mode == "atls" and evidence is None:
            raise IngressError("aTLS needs a TEE to produce evidence; this agent has none, so the ingress "
                               "does not start (as on a no-TEE CVM)")
        self.config = config
        self.upstream = upstream
        self.host, self.port = host, port
        self.handshake_timeout = handshake_timeout
        self.failed_handshakes = 0
        self.connections = 0
        self._evidence = evidence
        self._sock = sock
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._context: SSL.Context | None = None
        self._chain_der: tuple[bytes, ...] = ()
        self._key: Any = None

    async def start(self) -> int:
        if self.config.mode != "plain":
            self._context = self._ssl_context()
        try:
            if self._sock is not None:
                self._server = await asyncio.start_server(self._accept, sock=self._sock)
            else:
                self._server = await asyncio.start_server(self._accept, self.host, self.port)
        except OSError as exc:
            raise IngressError(f"the ingress cannot listen on {self.host}:{self.port} ({exc.strerror})") from None
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("ingress (%s) listening on %s:%d", self.config.mode, self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

    def _ssl_context(self) -> SSL.Context:
        cfg = self.config
        if cfg.cert_pem and cfg.key_pem:
            try:
                chain = x509.load_pem_x509_certificates(cfg.cert_pem)
                key: Any = serialization.load_pem_private_key(cfg.key_pem, None)
            except ValueError as exc:
                raise IngressError(f"the agent certificate or key in the manifest is unreadable ({exc})") from None
        else:
            cert, key = ephemeral_identity()
            chain = [cert]
        self._chain_der = tuple(c.public_bytes(serialization.Encoding.DER) for c in chain)
        self._key = key
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_3_VERSION if cfg.mode == "atls" else SSL.TLS1_2_VERSION)
        ctx.use_certificate(chain[0])
        ctx.use_privatekey(key)
        for extra in chain[1:]:
            ctx.add_extra_chain_cert(extra)
        ctx.set_alpn_select_callback(_select_alpn)
        if cfg.client_ca_pem:
            store = ctx.get_cert_store()
            assert store is not None
            for ca in x509.load_pem_x509_certificates(cfg.client_ca_pem):
                store.add_cert(crypto.X509.from_cryptography(ca))  # the store takes only X509
            ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *args: bool(args[-1]))
        return ctx

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._handle(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        peer = writer.get_extra_info("peername")
        try:
            try:
                pipe = await asyncio.wait_for(self._open(reader, writer), self.handshake_timeout)
            except (SSL.Error, PrismError, _ConnectionClosed, OSError, asyncio.TimeoutError) as exc:
                self.failed_handshakes += 1
                log.info("ingress: dropped connection from %s during the handshake: %s", peer, exc)
                return
            await self._relay(pipe)
        except (OSError, SSL.Error) as exc:
            log.info("ingress: connection from %s ended: %s", peer, exc)
        except Exception:  # one connection's failure must never reach the listener
            log.exception("ingress: connection from %s failed", peer)
        finally:
            writer.close()

    async def _open(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> _PlainPipe | _TlsPipe:
        if self._context is None:
            return _PlainPipe(reader, writer)
        pipe = _TlsPipe(self._context, reader, writer)
        await pipe.handshake()
        if self.config.mode == "atls":
            await self._exchange(pipe)
        return pipe

    async def _exchange(self, pipe: _TlsPipe) -> None:
        """Frame 1 in, frame 2 out (§12.2-§12.5), before any HTTP/2 byte."""
        frame_type, length = parse_frame_header(await pipe.recv_exactly(FRAME_HEADER_SIZE))
        if frame_type != FRAME_REQUEST:
            raise _ConnectionClosed(f"atls: expected frame type {FRAME_REQUEST}, got {frame_type}")
        request = await pipe.recv_exactly(length)
        conn = pipe.conn
        hash_ = suite_hash(conn.get_cipher_name() or "")
        context = parse_request(request).context
        exporters = derive_exporters(conn.export_keying_material, hash_, context)
        binder = compute_binder(raw_spki(self._chain_der[0]), exporters.attestation, hash_)
        assert self._evidence is not None
        evidence = await asyncio.to_thread(self._evidence, exporters.attestation, binder.binding)
        authenticator = build_authenticator(request, self._chain_der, self._key, exporters, evidence)
        await pipe.send(encode_frame(FRAME_AUTHENTICATOR, authenticator))

    async def _relay(self, pipe: _PlainPipe | _TlsPipe) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)

        async def downstream_to_upstream() -> None:
            while data := await pipe.recv():
                up_writer.write(data)
                await up_writer.drain()

        async def upstream_to_downstream() -> None:
            while data := await up_reader.read(_READ_SIZE):
                await pipe.send(data)

        tasks = [asyncio.ensure_future(downstream_to_upstream()), asyncio.ensure_future(upstream_to_downstream())]
        try:
            # Either side closing ends the HTTP/2 connection as a whole.
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            up_writer.close()


def _select_alpn(conn: SSL.Connection, offered: list[bytes]) -> bytes:
    # The stream is h2c whatever was negotiated (§12.1); prefer h2 as the real ingress does.
    if b"h2" in offered:
        return b"h2"
    return offered[0] if offered else SSL.NO_OVERLAPPING_PROTOCOLS
