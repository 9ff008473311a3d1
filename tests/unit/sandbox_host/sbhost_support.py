"""Shared pieces for the sandbox-host tests: one TEE chain per session, participants, an aTLS client."""

from __future__ import annotations

import atexit
import hashlib
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from OpenSSL import SSL

from core.atls.authenticator import AuthenticatorResult, make_request, verify_authenticator
from core.atls.frames import (
    FRAME_AUTHENTICATOR, FRAME_HEADER_SIZE, FRAME_REQUEST, encode_frame, parse_frame_header, parse_request,
)
from core.atls.suites import derive_exporters, suite_hash
from core.cocos.computation import AgentConfig, Algorithm, Computation, Dataset, ResultConsumer
from core.keys.signatures import role_signature_b64
from core.sandbox.tee import SandboxTee

SUM_ALGORITHM = b"""import csv, pathlib, sys
total = 0
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        total += int(row["value"])
pathlib.Path("results").mkdir(exist_ok=True)
pathlib.Path("results/sum.txt").write_text(str(total))
"""
CSV = b"name,value\na,10\nb,32\nc,-2\n"


@cache
def tee_dir() -> Path:
    """RSA-4096 generation is slow, so every test (and every agent process) shares one chain."""
    state = Path(tempfile.mkdtemp(prefix="prism-sbhost-tee-"))
    atexit.register(shutil.rmtree, state, True)
    SandboxTee(state).ark_certificate()
    return state


def seed_tee(target: Path) -> Path:
    """Copy the session chain where a host expects its TEE state."""
    shutil.copytree(tee_dir(), target, dirs_exist_ok=True)
    return target


def _spki(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class Party:
    """One key per role (Ed25519 keeps the tests fast)."""

    key: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)

    def signer(self, role: str) -> str:
        return role_signature_b64(self.key, role)


def computation(party: Party, comp_id: str = "c1", agent_config: AgentConfig | None = None) -> Computation:
    spki = _spki(party.key)
    return Computation(
        id=comp_id, name="sum", description="sum a column",
        algorithm=Algorithm(hash=hashlib.sha3_256(SUM_ALGORITHM).digest(), user_key=spki),
        datasets=(Dataset(hash=hashlib.sha3_256(CSV).digest(), user_key=spki, filename="data.csv"),),
        result_consumers=(ResultConsumer(user_key=spki),),
        agent_config=agent_config,
    )


def _recv_exactly(conn: SSL.Connection, size: int) -> bytes:
    buf = b""
    while len(buf) < size:
        chunk = conn.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buf += chunk
    return buf


def atls_exchange(port: int, *, timeout: float = 10.0) -> tuple[AuthenticatorResult, SSL.Connection]:
    """A raw pyOpenSSL aTLS client: TLS 1.3 handshake, frame 1, frame 2, verification (§12.8)."""
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    ctx.set_alpn_protos([b"h2"])
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(None)  # pyOpenSSL needs a blocking socket; the test's own deadline bounds the wait
    conn = SSL.Connection(ctx, sock)
    conn.set_connect_state()
    conn.do_handshake()
    request = make_request()
    conn.sendall(encode_frame(FRAME_REQUEST, request))
    frame_type, length = parse_frame_header(_recv_exactly(conn, FRAME_HEADER_SIZE))
    assert frame_type == FRAME_AUTHENTICATOR
    authenticator = _recv_exactly(conn, length)
    hash_ = suite_hash(conn.get_cipher_name())
    exporters = derive_exporters(conn.export_keying_material, hash_, parse_request(request).context)
    leaf = conn.get_peer_certificate().to_cryptography().public_bytes(serialization.Encoding.DER)
    return verify_authenticator(request, authenticator, exporters, tls_leaf_der=leaf), conn
