"""The victim of the keystore crash test: generates keys (and their audit events) until killed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.keys.keystore import KdfParams, Keystore
from core.keys.types import KeyType
from core.workspace.manager import WorkspaceManager

PASSPHRASE = "crash test passphrase"


def main(home: str, ready: Any) -> None:
    manager = WorkspaceManager(Path(home), actor="crash-writer")
    ws = manager.open("default", create=True)
    if Keystore.exists(ws.keystore_path):
        ks = ws.open_keystore(passphrase=PASSPHRASE)  # reconciles the audit log with the keystore
    else:
        ks = Keystore.create(ws.keystore_path, passphrase=PASSPHRASE, kdf=KdfParams.FAST, on_event=ws.audit_hook)
    ready.set()
    index = len(ks.list())
    while True:
        index += 1
        ks.generate(f"key-{index:05d}", KeyType.ED25519, label="x" * (index % 200))
