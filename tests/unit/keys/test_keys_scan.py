"""At rest, no file in the workspace holds a private key or a passphrase in any encoding."""

from __future__ import annotations

from pathlib import Path

from core.keys.keystore import KdfParams, Keystore
from core.keys.types import KeyType
from tests.unit.keys.keys_support import key_of, pkcs8_pem, secret_needles, vector_key

PASSPHRASES = ["keystore passphrase 1", "backup passphrase 2", "changed passphrase 3"]


def _all_bytes(root: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_no_secret_bytes_at_rest(tmp_path):
    workspace = tmp_path / "workspace"
    store = Keystore.create(workspace / "keystore.prism", passphrase=PASSPHRASES[0], kdf=KdfParams.FAST)
    store.import_key("vector", pkcs8_pem(vector_key()))
    store.add_private_key("rsa", key_of(KeyType.RSA))
    store.add_private_key("p384", key_of(KeyType.ECDSA_P384), purpose="ca")
    generated = store.generate("p256", KeyType.ECDSA_P256, purpose="tls")
    shares = store.backup(workspace / "backup-shares.prism", shares=3, threshold=2)
    store.backup(workspace / "backup-pass.prism", passphrase=PASSPHRASES[1])
    store.change_passphrase(PASSPHRASES[2])
    restored = Keystore.restore(workspace / "backup-shares.prism", workspace / "restored.prism",
                                shares=shares[:2], use_keyring=True)

    keys = [vector_key(), key_of(KeyType.RSA), key_of(KeyType.ECDSA_P384), store.private_key("p256")]
    needles = [needle for key in keys for needle in secret_needles(key)]
    needles += [text.encode() for text in PASSPHRASES] + [share.encode() for share in shares]
    files = _all_bytes(workspace)
    assert len(files) == 4  # keystore, two backups, restored keystore; no temp files left behind
    for path, content in files.items():
        for needle in needles:
            assert needle not in content, f"{path.name} holds secret material"
    # even public keys and names are inside the ciphertext: the file reveals nothing about its keys
    assert all(generated.public_der not in content and b"p256" not in content for content in files.values())
    assert restored.get("p256").fingerprint == generated.fingerprint


def test_the_scan_can_fail(tmp_path):
    """The needles do match when a key is written in the clear, so the test above can fail."""
    leaked = tmp_path / "leak.pem"
    leaked.write_bytes(pkcs8_pem(vector_key()))
    content = leaked.read_bytes()
    assert any(needle in content for needle in secret_needles(vector_key()))
