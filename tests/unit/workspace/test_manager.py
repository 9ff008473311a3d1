"""Workspaces under a Prism home: lifecycle, names, conflicts, and strict separation."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from core.errors import AlreadyExists, BadInput, NotFound, WorkspaceError
from core.workspace.manager import WorkspaceInUse, WorkspaceManager
from core.workspace.workspace import NAME_PATTERN, check_name


@pytest.fixture
def manager(tmp_path: Path):
    with WorkspaceManager(tmp_path / "home", actor="alice") as opened:
        yield opened


def test_home_defaults_to_prism_home(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PRISM_HOME", str(tmp_path / "elsewhere"))
    assert WorkspaceManager().home == (tmp_path / "elsewhere").resolve()
    assert WorkspaceManager().actor  # the login name


def test_create_open_list(manager: WorkspaceManager) -> None:
    before = datetime.now(timezone.utc)
    with manager.create("alpha") as alpha:
        assert alpha.path == manager.home / "workspaces" / "alpha"
        assert alpha.keystore_path == alpha.path / "keystore.prks" and not alpha.keystore_path.exists()
        assert alpha.cache_dir.is_dir() and alpha.results_dir == alpha.path / "results"
        assert alpha.store.path.parent == alpha.path
        [event] = alpha.audit.events()
        assert (event.action, event.subject, event.actor) == ("workspace.create", "alpha", "alice")
    manager.create("beta").close()
    (manager.home / "workspaces" / "beta" / "keystore.prks").write_bytes(b"x")

    infos = manager.list()
    assert [(i.name, i.has_keystore) for i in infos] == [("alpha", False), ("beta", True)]
    assert all(before <= i.created_at <= datetime.now(timezone.utc) for i in infos)
    assert manager.exists("alpha") and not manager.exists("gamma")
    with manager.open("alpha") as again:
        assert again.audit.count() == 1 and again.audit.verify_chain().ok


def test_list_ignores_stray_entries(manager: WorkspaceManager) -> None:
    manager.create("alpha").close()
    root = manager.home / "workspaces"
    (root / ".deleting-old-1234").mkdir()
    (root / "notes.txt").write_text("x")
    (root / "bad name").mkdir()
    assert [i.name for i in manager.list()] == ["alpha"]


def test_list_of_a_fresh_home_is_empty(manager: WorkspaceManager) -> None:
    assert manager.list() == []


def test_create_conflict_and_open_missing(manager: WorkspaceManager) -> None:
    manager.create("alpha").close()
    with pytest.raises(AlreadyExists) as caught:
        manager.create("alpha")
    assert caught.value.code == "already-exists" and "alpha" in str(caught.value)
    with pytest.raises(NotFound) as missing:
        manager.open("nope")
    assert missing.value.code == "not-found" and "create it first" in str(missing.value)
    assert not manager.exists("nope")


def test_open_with_create(manager: WorkspaceManager) -> None:
    with manager.open("fresh", create=True) as fresh:
        assert fresh.audit.events()[0].action == "workspace.create"
    with manager.open("fresh", create=True) as same:
        assert same.audit.count() == 1  # opened, not created twice


@pytest.mark.parametrize(
    "name", ["", ".hidden", "..", "a/b", "a\\b", "with space", "x" * 65, "naïve", "tab\t", "a:b", None, 5],
)
def test_bad_names_are_bad_input(manager: WorkspaceManager, name) -> None:
    for call in (manager.create, manager.open, manager.exists, manager.delete):
        with pytest.raises(BadInput) as caught:
            call(name)
        assert caught.value.code == "bad-input"
    with pytest.raises(BadInput):
        manager.rename("fine", name)
    assert not (manager.home / "workspaces").exists() or manager.list() == []


@pytest.mark.parametrize("name", ["a", "A-1", "my.workspace", "_x", "-", "x" * 64, "v1.2.3_rc-1"])
def test_good_names(name: str) -> None:
    assert check_name(name) == name and NAME_PATTERN.fullmatch(name)


def test_rename(manager: WorkspaceManager) -> None:
    manager.create("alpha").close()
    manager.rename("alpha", "omega")
    assert [i.name for i in manager.list()] == ["omega"]
    with manager.open("omega") as omega:
        events = omega.audit.events()
        assert [e.action for e in events] == ["workspace.create", "workspace.rename"]
        assert events[1].details == {"from": "alpha", "to": "omega"}
        assert omega.audit.verify_chain().ok  # the anchor moved with the folder


def test_rename_conflicts(manager: WorkspaceManager) -> None:
    manager.create("alpha").close()
    manager.create("beta").close()
    with pytest.raises(AlreadyExists):
        manager.rename("alpha", "beta")
    with pytest.raises(AlreadyExists):
        manager.rename("alpha", "alpha")
    with pytest.raises(NotFound):
        manager.rename("ghost", "gamma")
    assert [i.name for i in manager.list()] == ["alpha", "beta"]


def test_open_workspace_cannot_be_renamed_or_deleted(manager: WorkspaceManager) -> None:
    alpha = manager.create("alpha")
    second = manager.open("alpha")
    alpha.close()
    for action in (lambda: manager.rename("alpha", "other"), lambda: manager.delete("alpha")):
        with pytest.raises(WorkspaceInUse) as caught:
            action()
        assert caught.value.code == "workspace-in-use" and "close it first" in str(caught.value)
    second.close()
    manager.delete("alpha")
    assert not manager.exists("alpha")


def test_delete_is_logged_in_the_home_audit_log(manager: WorkspaceManager) -> None:
    with manager.create("alpha") as alpha:
        alpha.keystore_path.write_bytes(b"sealed")
    manager.create("beta").close()
    manager.delete("alpha")
    manager.delete("beta")
    assert manager.list() == []
    assert sorted(os.listdir(manager.home / "workspaces")) == []  # no leftovers
    events = manager.home_audit.events()
    assert [(e.action, e.subject, e.details) for e in events] == [
        ("workspace.delete", "alpha", {"had_keystore": True}),
        ("workspace.delete", "beta", {"had_keystore": False}),
    ]
    assert manager.home_audit.verify_chain().ok
    assert manager.home_audit.store.path == manager.home / "home.sqlite"
    with pytest.raises(NotFound):
        manager.delete("alpha")


def test_audit_hook_writes_to_the_workspace_log(manager: WorkspaceManager) -> None:
    with manager.create("alpha") as alpha:
        hook = alpha.audit_hook
        hook("key.create", "signing-key", {"type": "ed25519"})
        hook("ca.init", "local-ca")
        last = alpha.audit.events(newest_first=True, limit=2)
        assert [(e.action, e.subject, e.details, e.actor) for e in last] == [
            ("ca.init", "local-ca", {}, "alice"),
            ("key.create", "signing-key", {"type": "ed25519"}, "alice"),
        ]


def _files(root: Path) -> set[Path]:
    return {path.resolve() for path in root.rglob("*")}


def test_workspaces_share_nothing(manager: WorkspaceManager) -> None:
    with manager.create("alpha") as alpha, manager.create("beta") as beta:
        alpha.audit_hook("key.create", "alpha-only-key", {"marker": "ALPHA-SECRETLESS-MARK"})
        beta.audit_hook("key.create", "beta-only-key")
        (alpha.cache_dir / "collateral.bin").write_bytes(b"a")
        (beta.cache_dir / "other.bin").write_bytes(b"b")

        assert alpha.path != beta.path
        assert not (alpha.path in beta.path.parents or beta.path in alpha.path.parents)
        for path_a, path_b in [(alpha.store.path, beta.store.path), (alpha.audit.head_path, beta.audit.head_path),
                               (alpha.cache_dir, beta.cache_dir), (alpha.keystore_path, beta.keystore_path),
                               (alpha.results_dir, beta.results_dir)]:
            assert path_a != path_b
        assert _files(alpha.path).isdisjoint(_files(beta.path))
        assert all(alpha.path in p.parents for p in _files(alpha.path))

        assert alpha.audit.count(text="beta-only") == 0 and beta.audit.count(text="alpha-only") == 0
        assert beta.audit.count(text="ALPHA-SECRETLESS-MARK") == 0
        assert [e.subject for e in alpha.audit.events()] == ["alpha", "alpha-only-key"]
        assert [e.subject for e in beta.audit.events()] == ["beta", "beta-only-key"]
        assert alpha.audit.events()[0].hash != beta.audit.events()[0].hash
        assert os.listdir(beta.cache_dir) == ["other.bin"]
        assert alpha.store.engine is not beta.store.engine


def test_failed_create_leaves_nothing_behind(manager: WorkspaceManager, monkeypatch) -> None:
    from core.workspace import manager as manager_module

    def broken_marker(path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(manager_module, "_write_marker", broken_marker)
    with pytest.raises(WorkspaceError, match="No space left on device.*check free disk space") as caught:
        manager.create("alpha")
    assert caught.value.code == "workspace"
    assert manager.list() == [] and not manager.exists("alpha")


# --- what counts as a workspace, and what deleting one takes with it ------------------------

def test_list_counts_only_folders_prism_made(manager: WorkspaceManager) -> None:
    manager.create("alpha").close()
    root = manager.home / "workspaces"
    (root / "stray").mkdir()  # a valid name, but nothing of a workspace in it
    (root / "stray" / "notes.txt").write_text("mine")
    (root / "old-style").mkdir()
    (root / "old-style" / "workspace.sqlite").write_bytes(b"")  # a store without the marker still counts
    (root / "marker-is-a-folder").mkdir()
    (root / "marker-is-a-folder" / "workspace.json").mkdir()
    assert [i.name for i in manager.list()] == ["alpha", "old-style"]
    assert not manager.exists("stray") and manager.exists("old-style")
    with pytest.raises(NotFound):
        manager.open("stray")
    with pytest.raises(NotFound):
        manager.delete("stray")  # never rmtree a folder that is not ours
    assert (root / "stray" / "notes.txt").read_text() == "mine"
    with pytest.raises(AlreadyExists, match="is not a Prism workspace"):
        manager.open("stray", create=True)


def _keystore(workspace, *, use_keyring: bool) -> str:
    from core.keys.keystore import KdfParams, Keystore

    passphrase = None if use_keyring else "pass"
    with Keystore.create(workspace.keystore_path, passphrase=passphrase, use_keyring=use_keyring,
                         kdf=KdfParams.FAST) as keystore:
        return keystore._header.uuid


def test_deleting_a_keyring_workspace_removes_its_master_key(manager: WorkspaceManager, memory_keyring) -> None:
    with manager.create("alpha") as alpha:
        alpha_id = _keystore(alpha, use_keyring=True)
    with manager.create("beta") as beta:
        beta_id = _keystore(beta, use_keyring=True)
    assert {user for _, user in memory_keyring.secrets} == {f"keystore:{alpha_id}", f"keystore:{beta_id}"}
    manager.delete("alpha")
    assert {user for _, user in memory_keyring.secrets} == {f"keystore:{beta_id}"}  # only alpha's went
    [event] = manager.home_audit.events()
    assert event.details == {"had_keystore": True, "keyring_secret_removed": True}


def test_deleting_a_passphrase_workspace_leaves_the_keyring_alone(manager: WorkspaceManager,
                                                                   memory_keyring) -> None:
    memory_keyring.set_password("prism-desktop", "keystore:someone-else", "x")
    with manager.create("alpha") as alpha:
        _keystore(alpha, use_keyring=False)
    manager.delete("alpha")
    assert list(memory_keyring.secrets) == [("prism-desktop", "keystore:someone-else")]
    assert manager.home_audit.events()[0].details == {"had_keystore": True}


def test_a_damaged_keystore_does_not_stop_the_deletion(manager: WorkspaceManager, memory_keyring, caplog) -> None:
    with manager.create("alpha") as alpha:
        _keystore(alpha, use_keyring=True)
        alpha.keystore_path.write_bytes(b"PRKS damaged")
    manager.delete("alpha")
    assert not manager.exists("alpha")
    assert len(memory_keyring.secrets) == 1  # unknowable which entry was its own: left, and said so
    assert "cannot read the keystore header" in caplog.text
