"""The CLI under hostile conditions: unwritable outputs, existing files, protected keys, closed pipes.

Each failure must be one line on stderr with the right exit code, never a traceback, and must
happen before any work is stored or audited.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from app.cli import main
from core.keys.keystore import KdfParams

REPO = Path(__file__).resolve().parents[3]
PASSPHRASE = "robust passphrase"


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch):
    monkeypatch.setattr(KdfParams, "DEFAULT", KdfParams.FAST)


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def pw(tmp_path, monkeypatch):
    path = tmp_path / "pass.txt"
    path.write_text(PASSPHRASE + "\n")
    monkeypatch.delenv("PRISM_PASSPHRASE", raising=False)
    return path


@pytest.fixture
def run(home, pw):
    def invoke(*args, passfile=True):
        lines: list[str] = []
        argv = ["--home", str(home)] + (["--passphrase-file", str(pw)] if passfile else [])
        code = main(argv + [str(a) for a in args], out=lines.append)
        return code, "\n".join(lines)
    return invoke


@pytest.fixture
def ca(run):
    assert run("ca", "init")[0] == 0
    return run


def _unwritable(tmp_path: Path) -> list[Path]:
    """Places no one can write, not even root: below a regular file, and inside /proc on Linux."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    places = [blocker / "sub"]
    if Path("/proc/self").is_dir():
        places.append(Path("/proc/forbidden"))
    return places


def _one_line_error(capsys, *fragments: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def _serials(run) -> list[str]:
    return [c["serial"] for c in json.loads(run("ca", "list", "--json")[1]) if c["usage"] != "ca"]


def _audit_actions(run) -> list[str]:
    return [e["action"] for e in json.loads(run("audit", "list", "--json")[1])]


# --- 1: unwritable outputs fail first, with the path, and create nothing ----------------------

def test_issue_into_an_unwritable_folder_issues_nothing(ca, tmp_path, capsys):
    for place in _unwritable(tmp_path):
        code, _ = ca("ca", "issue", "--cn", "x.local", "--usage", "server", "--out-dir", place)
        assert code == 2, place
        _one_line_error(capsys, str(place))
    assert _serials(ca) == []
    assert "ca.issue" not in _audit_actions(ca)
    assert [k["purpose"] for k in json.loads(ca("keys", "list", "--json")[1])] == ["ca"]  # no orphan TLS key


def test_issue_creates_the_out_dir_but_not_its_parents(ca, tmp_path, capsys):
    deep = tmp_path / "missing" / "srv"
    assert ca("ca", "issue", "--cn", "x.local", "--usage", "server", "--out-dir", deep)[0] == 2
    _one_line_error(capsys, str(tmp_path / "missing"), "does not exist")
    assert not (tmp_path / "missing").exists() and _serials(ca) == []

    fresh = tmp_path / "srv"
    assert ca("ca", "issue", "--cn", "x.local", "--usage", "server", "--out-dir", fresh)[0] == 0
    assert sorted(os.listdir(fresh)) == ["ca.pem", "cert.pem", "key.pem"]
    assert (fresh.stat().st_mode & 0o077) == 0  # it holds a private key


def test_export_to_an_unwritable_place_exports_nothing(run, tmp_path, capsys):
    assert run("keys", "generate", "e")[0] == 0
    secret = tmp_path / "export-pass.txt"
    secret.write_text("export secret\n")
    places = [p / "key.pem" for p in _unwritable(tmp_path)] + [tmp_path / "no-such-dir" / "key.pem"]
    for place in places:
        code, _ = run("keys", "export", "e", "--out", place, "--export-passphrase-file", secret)
        assert code == 2, place
        _one_line_error(capsys, str(place))
    assert not (tmp_path / "no-such-dir").exists()
    code, _ = run("keys", "export", "e", "--out", tmp_path / "blocker-dir" / "x", "--format", "cocos-cli",
                  "--confirm-plaintext")
    assert code == 2 and not (tmp_path / "blocker-dir").exists()
    assert "key.export-private" not in _audit_actions(run)  # nothing left the keystore


def test_crl_and_exports_never_create_parent_folders(ca, tmp_path, capsys):
    target = tmp_path / "nonexistent-dir" / "x" / "y.crl"
    assert ca("ca", "crl", "--out", target)[0] == 2
    _one_line_error(capsys, "does not exist")
    assert not (tmp_path / "nonexistent-dir").exists()
    assert "ca.crl" not in " ".join(_audit_actions(ca))  # no CRL number spent
    assert ca("ca", "crl", "--out", tmp_path)[0] == 2  # a folder is not a file name
    _one_line_error(capsys, "is a folder")


def test_backup_to_an_unwritable_place_writes_no_backup(run, tmp_path, capsys):
    assert run("keys", "generate", "e")[0] == 0
    for place in _unwritable(tmp_path):
        assert run("keys", "backup", "--out", place / "b.bak", "--shares", 3, "--threshold", 2)[0] == 2
        _one_line_error(capsys, str(place))
        # the shares exist only once: they must not be printed for a backup that cannot be written
        assert run("keys", "backup", "--out", tmp_path / "b.bak", "--shares", 3, "--threshold", 2,
                   "--shares-dir", place)[0] == 2
        _one_line_error(capsys, str(place))
        assert not (tmp_path / "b.bak").exists()
    assert "keystore.backup" not in _audit_actions(run)


def test_a_write_failing_after_the_checks_names_the_stored_certificate(ca, tmp_path, monkeypatch, capsys):
    from app.cli import context

    def disk_full(path, data, *, mode):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(context, "atomic_write", disk_full)
    code, _ = ca("ca", "issue", "--cn", "x.local", "--usage", "server", "--out-dir", tmp_path / "srv")
    assert code == 2
    [serial] = _serials(ca)
    _one_line_error(capsys, "No space left on device", f"prism ca export {serial}")


def test_main_turns_any_stray_os_error_into_one_line(run, monkeypatch, capsys):
    from app.cli import workspace_cmds

    def broken(ctx):
        raise PermissionError(errno.EACCES, "Permission denied", "/somewhere/file")

    monkeypatch.setattr(workspace_cmds, "list_", broken)
    assert run("workspace", "list")[0] == 2
    assert capsys.readouterr().err == "prism: error: Permission denied (/somewhere/file)\n"


# --- 7: issuing never overwrites silently -----------------------------------------------------

def test_issue_refuses_to_overwrite_without_force(ca, tmp_path, capsys):
    out = tmp_path / "srv"
    assert ca("ca", "issue", "--cn", "one.local", "--usage", "server", "--out-dir", out)[0] == 0
    first = {name: (out / name).read_bytes() for name in ("cert.pem", "key.pem", "ca.pem")}
    assert ca("ca", "issue", "--cn", "two.local", "--usage", "server", "--out-dir", out)[0] == 1
    _one_line_error(capsys, str(out / "cert.pem"), str(out / "key.pem"), "--force")
    assert {name: (out / name).read_bytes() for name in first} == first
    assert len(_serials(ca)) == 1  # refused before issuing

    assert ca("ca", "issue", "--cn", "two.local", "--usage", "server", "--out-dir", out, "--force")[0] == 0
    cert = x509.load_pem_x509_certificate((out / "cert.pem").read_bytes())
    assert cert.subject.rfc4514_string().endswith("CN=two.local")
    assert (out / "key.pem").read_bytes() != first["key.pem"]


def test_issue_refuses_a_foreign_ca_file_but_not_the_same_one(ca, tmp_path):
    out = tmp_path / "srv"
    out.mkdir()
    (out / "ca.pem").write_bytes(b"someone else's CA\n")
    assert ca("ca", "issue", "--cn", "x.local", "--usage", "server", "--out-dir", out)[0] == 1
    assert (out / "ca.pem").read_bytes() == b"someone else's CA\n"
    (out / "ca.pem").unlink()
    assert ca("ca", "issue", "--cn", "x.local", "--usage", "server", "--out-dir", out)[0] == 0
    serial = _serials(ca)[0]
    (out / "cert.pem").unlink()
    assert ca("ca", "renew", serial, "--out-dir", out)[0] == 0  # ca.pem is the same: no --force needed
    assert ca("ca", "renew", serial, "--out-dir", out)[0] == 1  # cert.pem is there now


# --- 2: the CA key stays, TLS keys warn, only participant keys sign ---------------------------

def test_the_ca_key_cannot_be_deleted(ca, tmp_path, capsys):
    assert ca("keys", "delete", "ca-root", "--yes")[0] == 1
    _one_line_error(capsys, "certificate authority")
    assert [k["name"] for k in json.loads(ca("keys", "list", "--json")[1])] == ["ca-root"]
    assert ca("ca", "issue", "--cn", "x.local", "--usage", "server", "--out-dir", tmp_path / "srv")[0] == 0


def test_an_unused_ca_key_can_be_deleted_as_ca_init_asks(run, home):
    from cryptography.hazmat.primitives.asymmetric import ec

    from core.keys.keystore import Keystore
    from core.workspace.manager import WorkspaceManager

    assert run("keys", "init")[0] == 0
    with WorkspaceManager(home) as manager, manager.open("default") as ws:
        with ws.open_keystore(passphrase=PASSPHRASE) as ks:  # a root key left without its certificate
            ks.add_private_key("ca-root", ec.generate_private_key(ec.SECP384R1()), purpose="ca")
    assert run("ca", "init")[0] == 1  # "delete that key before initialising again"
    assert run("keys", "delete", "ca-root", "--yes")[0] == 0
    assert run("ca", "init")[0] == 0
    assert Keystore.exists(home / "workspaces" / "default" / "keystore.prks")


def test_deleting_a_tls_key_warns(ca, tmp_path, capsys):
    assert ca("ca", "issue", "--cn", "x.local", "--usage", "server", "--out-dir", tmp_path / "srv")[0] == 0
    tls = [k["name"] for k in json.loads(ca("keys", "list", "--json")[1]) if k["purpose"] == "tls"]
    capsys.readouterr()
    assert ca("keys", "delete", tls[0], "--yes")[0] == 0
    err = capsys.readouterr().err
    assert err.startswith(f"prism: warning: '{tls[0]}' is the key of a TLS certificate") and "PKCS#12" in err
    assert tls[0] not in ca("keys", "list", "--json")[1]


def test_sign_role_takes_participant_keys_only(ca, tmp_path, capsys):
    assert ca("ca", "issue", "--cn", "x.local", "--usage", "server", "--out-dir", tmp_path / "srv")[0] == 0
    tls = [k["name"] for k in json.loads(ca("keys", "list", "--json")[1]) if k["purpose"] == "tls"][0]
    for name in ("ca-root", tls):
        assert ca("keys", "sign-role", name, "consumer")[0] == 1
        _one_line_error(capsys, "participant key")
    assert ca("keys", "generate", "alice")[0] == 0
    assert ca("keys", "sign-role", "alice", "consumer")[0] == 0


# --- 8: a reader that goes away ---------------------------------------------------------------

def test_a_closed_pipe_ends_quietly(run, home):
    for index in range(3):
        assert run("keys", "generate", f"k{index}")[0] == 0
    env = dict(os.environ, PRISM_PASSPHRASE=PASSPHRASE, PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "app.cli", "--home", str(home), "keys", "list", "--json"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # like `| head` that has read enough: every write now gets EPIPE
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == 1
    assert err == ""  # no BrokenPipeError traceback, not even "Exception ignored"

    # the same command with a reader prints the list and succeeds
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0 and len(json.loads(done.stdout)) == 3 and done.stderr == b""
