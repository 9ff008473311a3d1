"""The `prism` CLI end to end, in process: exit codes, --json, files written, audit trail."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from app.cli import main
from core.keys.keystore import KdfParams

ED25519_SEED = bytes(range(32))
ED25519_SIG_ALGO = "apXdzP7riCYfLEQZT2HBMYRmQqJfpwOVmR9dmD7MzX+uRfLIO4tyxDPqYKIhvkYNJ5n/BddmVFj58CoM1RXYDw=="
ED25519_SPKI_B64 = "MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch):
    monkeypatch.setattr(KdfParams, "DEFAULT", KdfParams.FAST)


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def pw(tmp_path, monkeypatch):
    path = tmp_path / "pass.txt"
    path.write_text("correct horse battery staple\n")
    monkeypatch.delenv("PRISM_PASSPHRASE", raising=False)
    return path


def run(home, *args, passfile=None):
    lines: list[str] = []
    argv = ["--home", str(home)]
    if passfile is not None:
        argv += ["--passphrase-file", str(passfile)]
    code = main(argv + [str(a) for a in args], out=lines.append)
    return code, "\n".join(lines)


def test_workspace_lifecycle_and_json(home):
    assert run(home, "workspace", "create", "alpha")[0] == 0
    assert run(home, "workspace", "create", "alpha")[0] == 1  # already exists: refused
    assert run(home, "workspace", "create", "../evil")[0] == 2  # bad name: bad input
    code, out = run(home, "workspace", "list", "--json")
    assert code == 0 and [w["name"] for w in json.loads(out)] == ["alpha"]
    assert run(home, "workspace", "rename", "alpha", "beta")[0] == 0
    assert run(home, "workspace", "delete", "beta")[0] == 1  # no --yes and no tty: refused
    assert run(home, "workspace", "delete", "beta", "--yes")[0] == 0
    assert json.loads(run(home, "workspace", "list", "--json")[1]) == []


def test_bad_usage_exits_2(home):
    assert run(home, "keys", "generate")[0] == 2
    assert run(home, "nonsense")[0] == 2
    assert run(home, "keys", "generate", "k", "--type", "dsa")[0] == 2


def test_locked_keystore_without_passphrase_is_refused(home, pw):
    assert run(home, "keys", "generate", "k1", "--type", "ed25519", passfile=pw)[0] == 0
    code, _ = run(home, "keys", "list")
    assert code == 1  # locked: no passphrase source


def test_wrong_passphrase_is_refused(home, pw, tmp_path):
    assert run(home, "keys", "init", passfile=pw)[0] == 0
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("nope\n")
    assert run(home, "keys", "list", passfile=wrong)[0] == 1


def test_passphrase_from_environment(home, pw, monkeypatch):
    assert run(home, "keys", "init", passfile=pw)[0] == 0
    monkeypatch.setenv("PRISM_PASSPHRASE", "correct horse battery staple")
    code, out = run(home, "keys", "list", "--json")
    assert code == 0 and json.loads(out) == []


def test_keys_generate_list_export_sign(home, pw, tmp_path):
    for name, kt in [("e", "ed25519"), ("p", "ecdsa-p256"), ("q", "ecdsa-p384")]:
        assert run(home, "keys", "generate", name, "--type", kt, passfile=pw)[0] == 0
    code, out = run(home, "keys", "list", "--json", passfile=pw)
    listed = {k["name"]: k for k in json.loads(out)}
    assert {k: v["type"] for k, v in listed.items()} == {"e": "ed25519", "p": "ecdsa-p256", "q": "ecdsa-p384"}

    code, der_b64 = run(home, "keys", "export-public", "p", "--format", "der-b64", passfile=pw)
    public = serialization.load_der_public_key(base64.b64decode(der_b64))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    import hashlib
    assert hashlib.sha256(base64.b64decode(der_b64)).hexdigest() == listed["p"]["fingerprint"]

    code, sig = run(home, "keys", "sign-role", "p", "data-provider", passfile=pw)
    assert code == 0
    public.verify(base64.b64decode(sig), b"data-provider", ec.ECDSA(hashes.SHA256()))

    assert run(home, "keys", "sign-role", "p", "root", passfile=pw)[0] == 2  # not a role


def test_import_cocos_cli_ed25519_vector_and_sign(home, pw, tmp_path):
    key = ed25519.Ed25519PrivateKey.from_private_bytes(ED25519_SEED)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    f = tmp_path / "private.pem"
    f.write_bytes(pem)
    assert run(home, "keys", "import", f, "--name", "vec", passfile=pw)[0] == 0
    assert run(home, "keys", "sign-role", "vec", "algorithm-provider", passfile=pw)[1] == ED25519_SIG_ALGO
    assert run(home, "keys", "export-public", "vec", "--format", "der-b64", passfile=pw)[1] == ED25519_SPKI_B64


def test_import_garbage_is_bad_input_and_loses_nothing(home, pw, tmp_path):
    assert run(home, "keys", "generate", "keep", "--type", "ed25519", passfile=pw)[0] == 0
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot base64!!\n-----END PRIVATE KEY-----\n")
    assert run(home, "keys", "import", junk, "--name", "bad", passfile=pw)[0] == 2
    assert run(home, "keys", "import", tmp_path / "missing.pem", "--name", "bad", passfile=pw)[0] == 2
    names = [k["name"] for k in json.loads(run(home, "keys", "list", "--json", passfile=pw)[1])]
    assert names == ["keep"]


def test_export_private_formats(home, pw, tmp_path):
    assert run(home, "keys", "generate", "e", "--type", "ed25519", passfile=pw)[0] == 0
    exp_pw = tmp_path / "exp.txt"
    exp_pw.write_text("export-secret\n")
    out = tmp_path / "e.pem"
    assert run(home, "keys", "export", "e", "--out", out, "--format", "pkcs8",
               "--export-passphrase-file", exp_pw, passfile=pw)[0] == 0
    assert b"ENCRYPTED PRIVATE KEY" in out.read_bytes()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    serialization.load_pem_private_key(out.read_bytes(), password=b"export-secret")

    cli_dir = tmp_path / "cocos"
    code, _ = run(home, "keys", "export", "e", "--out", cli_dir, "--format", "cocos-cli", passfile=pw)
    assert code == 1 and not cli_dir.exists()  # needs explicit confirmation
    assert run(home, "keys", "export", "e", "--out", cli_dir, "--format", "cocos-cli",
               "--confirm-plaintext", passfile=pw)[0] == 0
    assert stat.S_IMODE((cli_dir / "private.pem").stat().st_mode) == 0o600
    assert (cli_dir / "public.pem").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


@pytest.mark.parametrize("n,k", [(3, 2), (5, 3)])
def test_backup_with_shares_and_restore(home, pw, tmp_path, n, k):
    assert run(home, "keys", "generate", "e", "--type", "ed25519", passfile=pw)[0] == 0
    fp = json.loads(run(home, "keys", "list", "--json", passfile=pw)[1])[0]["fingerprint"]
    backup = tmp_path / "ks.backup"
    code, out = run(home, "keys", "backup", "--out", backup, "--shares", n, "--threshold", k, passfile=pw)
    assert code == 0
    shares = [line for line in out.splitlines()[1:] if line.strip()]
    assert len(shares) == n
    assert run(home, "workspace", "create", "restored")[0] == 0
    args = ["--workspace", "restored", "keys", "restore", backup]
    too_few = sum((["--share", s] for s in shares[: k - 1]), [])
    assert main(["--home", str(home), "--passphrase-file", str(pw), *map(str, args), *too_few],
                out=lambda s: None) == 2
    enough = sum((["--share", s] for s in shares[-k:]), [])
    assert main(["--home", str(home), "--passphrase-file", str(pw), *map(str, args), *enough],
                out=lambda s: None) == 0
    lines: list[str] = []
    main(["--home", str(home), "--passphrase-file", str(pw), "--workspace", "restored", "keys", "list", "--json"],
         out=lines.append)
    assert json.loads("\n".join(lines))[0]["fingerprint"] == fp


def test_ca_issue_revoke_crl(home, pw, tmp_path):
    assert run(home, "ca", "init", passfile=pw)[0] == 0
    assert run(home, "ca", "init", passfile=pw)[0] == 1  # already initialised
    out_dir = tmp_path / "srv"
    code, _ = run(home, "ca", "issue", "--cn", "cvms.local", "--san", "DNS:localhost", "--san", "IP:127.0.0.1",
                  "--usage", "server", "--out-dir", out_dir, passfile=pw)
    assert code == 0
    cert = x509.load_pem_x509_certificate((out_dir / "cert.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((out_dir / "ca.pem").read_bytes())
    cert.verify_directly_issued_by(ca)
    assert stat.S_IMODE((out_dir / "key.pem").stat().st_mode) == 0o600
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    serial = format(cert.serial_number, "x")

    code, out = run(home, "ca", "list", "--json", passfile=pw)
    statuses = {c["serial"]: c["status"] for c in json.loads(out)}
    assert statuses[serial] == "valid"
    assert run(home, "ca", "revoke", serial, "--reason", "bogus", passfile=pw)[0] == 2
    assert run(home, "ca", "revoke", serial, "--reason", "key-compromise", passfile=pw)[0] == 0
    assert run(home, "ca", "revoke", serial, "--reason", "key-compromise", passfile=pw)[0] == 1
    crl_path = tmp_path / "ca.crl"
    assert run(home, "ca", "crl", "--out", crl_path, passfile=pw)[0] == 0
    crl = x509.load_der_x509_crl(crl_path.read_bytes())
    assert crl.is_signature_valid(ca.public_key())
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None


def test_audit_records_and_verifies(home, pw):
    assert run(home, "keys", "generate", "e", "--type", "ed25519", passfile=pw)[0] == 0
    assert run(home, "keys", "sign-role", "e", "consumer", passfile=pw)[0] == 0
    code, out = run(home, "audit", "list", "--json")
    actions = [e["action"] for e in json.loads(out)]
    assert "key.generate" in actions and "key.sign-role" in actions
    assert all("correct horse" not in json.dumps(e) for e in json.loads(out))
    code, out = run(home, "audit", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
