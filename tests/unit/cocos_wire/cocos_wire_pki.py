"""Certificates from the project's own local CA for the TLS and mTLS tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.ca.authority import CertificateAuthority
from core.keys.keystore import KdfParams, Keystore
from core.workspace.store import Store


@dataclass(frozen=True)
class Pki:
    ca_pem: bytes
    server_cert: bytes
    server_key: bytes
    client_cert: bytes
    client_key: bytes
    stranger_cert: bytes  # a client certificate from another CA
    stranger_key: bytes


def _authority(folder: Path, name: str) -> tuple[CertificateAuthority, Store, Keystore]:
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "workspace.sqlite")
    keystore = Keystore.create(folder / "keystore.prks", passphrase="test", kdf=KdfParams.FAST)
    authority = CertificateAuthority(store, keystore)
    authority.init(name)
    return authority, store, keystore


def make_pki(folder: Path, *, server_names: tuple[str, ...] = ("DNS:localhost", "IP:127.0.0.1")) -> Pki:
    ca, store, keystore = _authority(folder / "ca", "Prism test CA")
    other, other_store, other_keystore = _authority(folder / "other", "Other CA")
    try:
        server = ca.issue("cocos.test", sans=list(server_names), usage="server")
        client = ca.issue("alice", usage="client")
        stranger = other.issue("mallory", usage="client")
        return Pki(ca.ca_pem(), server.cert_pem, server.key_pem, client.cert_pem, client.key_pem,
                   stranger.cert_pem, stranger.key_pem)
    finally:
        for opened in (keystore, other_keystore, store, other_store):
            opened.close()
