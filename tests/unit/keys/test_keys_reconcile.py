"""Keys the audit log does not know about (a crash between the two writes) are found and recorded."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.keys import reconcile
from core.keys.entries import KeyEntry
from core.keys.keystore import KdfParams, Keystore
from core.keys.types import KeyType
from core.workspace.manager import WorkspaceManager

PASS = "reconcile pass"


def _entry(name: str, fingerprint: str) -> KeyEntry:
    return KeyEntry(name=name, key_type=KeyType.ED25519, fingerprint=fingerprint,
                    created_at=datetime.now(timezone.utc), public_der=b"")


def test_an_entry_is_recorded_by_its_last_add_or_delete_event():
    a, b, c, d = _entry("a", "fa"), _entry("b", "fb"), _entry("c", "fc"), _entry("d", "fd")
    events = [
        ("key.generate", "a", {"fingerprint": "fa"}),
        ("key.import", "b", {"fingerprint": "fb"}),
        ("key.delete", "b", {"fingerprint": "fb"}),  # b was deleted: the entry on disk is unrecorded
        ("key.import", "c", {"fingerprint": "other"}),  # same name, another key
        ("key.sign-role", "d", {"fingerprint": "fd"}),  # use is not addition
        ("key.restore", "d", {"fingerprint": "fd"}),
        ("key.delete", "d", {"fingerprint": "fd"}),
        ("key.recovered", "d", {"fingerprint": "fd"}),  # recorded again later
    ]
    assert reconcile.unrecorded([a, b, c, d], events) == [b, c]


def test_events_without_a_fingerprint_record_nothing():
    events = [("key.generate", "a", {}), ("key.generate", "a", {"fingerprint": 5})]
    assert [e.name for e in reconcile.unrecorded([_entry("a", "fa")], events)] == ["a"]


@pytest.fixture
def workspace(tmp_path):
    with WorkspaceManager(tmp_path / "home", actor="tester") as manager:
        with manager.open("default", create=True) as ws:
            yield ws


def test_open_through_the_workspace_records_keys_written_without_their_event(workspace):
    # the first key is written with its event; the second as if the process died before the event
    with Keystore.create(workspace.keystore_path, passphrase=PASS, kdf=KdfParams.FAST,
                         on_event=workspace.audit_hook) as ks:
        first = ks.generate("first", KeyType.ED25519)
        ks._on_event = None  # the crash: the keystore write happened, the audit append did not
        lost = ks.generate("lost", KeyType.ECDSA_P256)
    assert workspace.audit.count(action_prefix="key.") == 1

    with workspace.open_keystore(passphrase=PASS) as ks:
        assert [e.name for e in ks.list()] == ["first", "lost"]
    [event] = workspace.audit.events(action_prefix="key.recovered")
    assert event.subject == "lost"
    assert event.details["fingerprint"] == lost.fingerprint and event.details["name"] == "lost"
    assert event.details["key_type"] == "ecdsa-p256" and "audit event" in event.details["reason"]
    assert first.fingerprint != lost.fingerprint
    assert workspace.audit.verify_chain().ok

    with workspace.open_keystore(passphrase=PASS):  # once recorded, never again
        pass
    assert workspace.audit.count(action_prefix="key.recovered") == 1


def test_opened_keystore_reports_later_changes_to_the_workspace_log(workspace):
    Keystore.create(workspace.keystore_path, passphrase=PASS, kdf=KdfParams.FAST).close()
    with workspace.open_keystore(passphrase=PASS) as ks:
        ks.generate("k", KeyType.ED25519)
    assert [e.action for e in workspace.audit.events(action_prefix="key.")] == ["key.generate"]


def test_a_restored_keystore_needs_no_recovery(workspace, tmp_path):
    with Keystore.create(tmp_path / "source.prks", passphrase=PASS, kdf=KdfParams.FAST) as source:
        source.generate("k1", KeyType.ED25519)
        source.generate("k2", KeyType.ECDSA_P256)
        source.backup(tmp_path / "b.bak", passphrase="backup")
    Keystore.restore(tmp_path / "b.bak", workspace.keystore_path, passphrase="backup", new_passphrase=PASS,
                     on_event=workspace.audit_hook).close()
    with workspace.open_keystore(passphrase=PASS):
        pass
    actions = [(e.action, e.subject) for e in workspace.audit.events(action_prefix="key.")]
    assert actions == [("key.restore", "k1"), ("key.restore", "k2")]


def test_a_failed_reconcile_leaves_the_keystore_closed(workspace, monkeypatch):
    opened = []
    real_open = Keystore.open

    def spy(*args, **kwargs):
        ks = real_open(*args, **kwargs)
        opened.append(ks)
        return ks

    with Keystore.create(workspace.keystore_path, passphrase=PASS, kdf=KdfParams.FAST) as ks:
        ks.generate("k", KeyType.ED25519)  # no hook: unrecorded
    monkeypatch.setattr(Keystore, "open", spy)
    monkeypatch.setattr(workspace.audit, "append", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        workspace.open_keystore(passphrase=PASS)
    assert repr(opened[0]).endswith("closed)>")  # its keys were wiped, not left in memory
