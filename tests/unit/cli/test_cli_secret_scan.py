"""After a full CLI session, no file of the Prism home and no log line holds a private key or a secret.

The session touches every path a secret travels: all four key types generated, a key imported,
the CA created (its key and a TLS key), a certificate issued and revoked, a CRL, a PKCS#8 export
and a Shamir backup (both written outside the home, where they belong). Logging runs at DEBUG
the whole time. The SQLite write-ahead log and shared-memory files are kept alive by an open
connection so their content is scanned too, not just the checkpointed database.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from app.cli import main
from core.keys.keystore import KdfParams, Keystore
from core.workspace.manager import WorkspaceManager
from tests.unit.keys.keys_support import secret_needles

PASSPHRASE = "home scan passphrase 7f3a"
EXPORT_PASSPHRASE = "export scan passphrase 91c2"


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch):
    monkeypatch.setattr(KdfParams, "DEFAULT", KdfParams.FAST)


def _run(home: Path, passfile: Path, *args: object) -> list[str]:
    lines: list[str] = []
    code = main(["-v", "--home", str(home), "--passphrase-file", str(passfile), *map(str, args)], out=lines.append)
    assert code == 0, (args, lines)
    return lines


def _session(home: Path, outside: Path, passfile: Path, export_passfile: Path) -> list[str]:
    """Every secret-bearing command once; returns the printed backup shares."""
    for key_type in ("rsa", "ecdsa-p256", "ecdsa-p384", "ed25519"):
        _run(home, passfile, "keys", "generate", f"gen-{key_type}", "--type", key_type)
    imported = outside / "import.pem"
    imported.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    _run(home, passfile, "keys", "import", imported, "--name", "imported")
    _run(home, passfile, "ca", "init")
    _run(home, passfile, "ca", "issue", "--cn", "agent.local", "--usage", "server", "--out-dir", outside / "tls")
    serial = json.loads("\n".join(_run(home, passfile, "ca", "list", "--json")))[-1]["serial"]
    _run(home, passfile, "ca", "revoke", serial, "--reason", "key-compromise")
    _run(home, passfile, "ca", "crl", "--out", outside / "ca.crl")
    _run(home, passfile, "keys", "export", "gen-ed25519", "--out", outside / "exported.pem",
         "--export-passphrase-file", export_passfile)
    printed = _run(home, passfile, "keys", "backup", "--out", outside / "keys.backup", "--shares", 3,
                   "--threshold", 2)
    return [line for line in printed[1:] if line.strip()]


def test_no_secret_in_the_home_or_the_logs(tmp_path, caplog, capsys):
    home, outside = tmp_path / "home", tmp_path / "outside"
    outside.mkdir()
    passfile, export_passfile = outside / "pass.txt", outside / "export-pass.txt"
    passfile.write_text(PASSPHRASE + "\n")
    export_passfile.write_text(EXPORT_PASSPHRASE + "\n")
    caplog.set_level(logging.DEBUG)

    with WorkspaceManager(home, actor="scanner") as manager, manager.open("default", create=True) as held:
        held.audit.count()  # an open connection: the -wal and -shm files stay on disk to be scanned
        shares = _session(home, outside, passfile, export_passfile)
        with Keystore.open(held.keystore_path, passphrase=PASSPHRASE) as keystore:
            entries = keystore.list()
            keys = [keystore.private_key(entry.name) for entry in entries]
        files = {path: path.read_bytes() for path in home.rglob("*") if path.is_file()}

    assert sorted(entry.purpose for entry in entries) == ["ca"] + ["participant"] * 5 + ["tls"]
    assert len(shares) == 3
    workspace = home / "workspaces" / "default"
    for name in ("workspace.sqlite", "workspace.sqlite-wal", "workspace.sqlite-shm", "audit.head",
                 "keystore.prks", "workspace.json"):
        assert workspace / name in files, f"{name} was not scanned"
    assert (workspace / "cache").is_dir()
    assert caplog.records, "no log record was captured, so the log scan would prove nothing"

    needles = {f"{type(key).__name__} {index}": needle
               for index, key in enumerate(keys) for needle in secret_needles(key)}
    for label, text in (("passphrase", PASSPHRASE), ("export passphrase", EXPORT_PASSPHRASE)):
        needles[label] = text.encode()
    needles.update({f"share {i}": share.encode() for i, share in enumerate(shares)})
    logged = caplog.text + "\n".join(repr(record.args) + str(record.exc_text) for record in caplog.records)
    streams = capsys.readouterr()
    for label, needle in needles.items():
        for path, content in files.items():
            assert needle not in content, f"{path.relative_to(home)} holds {label}"
        assert needle.decode("latin-1") not in logged, f"a log record holds {label}"
        assert needle.decode("latin-1") not in streams.err, f"stderr holds {label}"


def test_the_scan_finds_a_key_written_to_the_home(tmp_path):
    """The needles match a key in the clear inside a SQLite file, so the test above can fail."""
    key = ed25519.Ed25519PrivateKey.generate()
    home = tmp_path / "home"
    with WorkspaceManager(home, actor="scanner") as manager, manager.open("default", create=True) as ws:
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        ws.audit_hook("leak", "x", {"oops": pem.decode()})
        content = b"".join(path.read_bytes() for path in home.rglob("*") if path.is_file())
    assert any(needle in content for needle in secret_needles(key))
