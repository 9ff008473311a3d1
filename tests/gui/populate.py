"""Build a Prism home with realistic content (keys, a CA with certificates, audit events)."""

from __future__ import annotations

from pathlib import Path

from core.ca.authority import CertificateAuthority
from core.keys.keystore import KdfParams, Keystore
from core.keys.types import KeyType
from core.workspace.manager import WorkspaceManager


def populate_home(home: Path, passphrase: str) -> None:
    with WorkspaceManager(home, actor="alice") as manager:
        manager.create("research-lab").close()
        with manager.open("default", create=True) as workspace:
            keystore = Keystore.create(workspace.keystore_path, passphrase=passphrase,
                                       kdf=KdfParams.FAST, on_event=workspace.audit_hook)
            keystore.generate("alice-data-provider", KeyType.ED25519, label="hospital dataset")
            keystore.generate("alice-consumer", KeyType.ECDSA_P256, label="results")
            keystore.generate("algo-signing", KeyType.ECDSA_P384)
            ca = CertificateAuthority(workspace.store, keystore, audit=workspace.audit_hook,
                                      workspace_name=workspace.name)
            ca.init("Prism Desktop CA (default)")
            ca.issue("cvms.lab.local", sans=("localhost", "127.0.0.1"), usage="server")
            client = ca.issue("agent-client", usage="client")
            ca.revoke(client.record.serial, "superseded")
            ca.publish_crl()
            keystore.close()
