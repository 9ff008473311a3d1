"""What a key's purpose allows: the CA's key is not deleted by accident, only participant keys sign roles."""

from __future__ import annotations

import pytest

from core.errors import Refused
from core.keys.keystore import KdfParams, Keystore
from core.keys.types import KeyType
from tests.unit.keys.keys_support import key_of

PASS = "purpose pass"


@pytest.fixture
def events():
    return []


@pytest.fixture
def store(tmp_path, events):
    ks = Keystore.create(tmp_path / "keystore.prism", passphrase=PASS, kdf=KdfParams.FAST,
                         on_event=lambda *event: events.append(event))
    ks.add_private_key("ca-root", key_of(KeyType.ECDSA_P384), purpose="ca")
    ks.add_private_key("tls-1", key_of(KeyType.ECDSA_P256), purpose="tls")
    ks.add_private_key("alice", key_of(KeyType.ED25519))
    return ks


def _names_on_disk(store: Keystore) -> list[str]:
    with Keystore.open(store.path, passphrase=PASS) as again:
        return [entry.name for entry in again.list()]


def test_the_ca_key_is_refused_and_stays(store, events):
    before = len(events)
    with pytest.raises(Refused) as caught:
        store.delete("ca-root")
    assert caught.value.code == "ca-key-protected"
    assert "certificate authority" in str(caught.value) and "delete the whole workspace" in str(caught.value)
    assert [e.name for e in store.list()] == ["alice", "ca-root", "tls-1"]
    assert _names_on_disk(store) == ["alice", "ca-root", "tls-1"]
    assert len(events) == before  # nothing happened, so nothing is audited


def test_a_ca_key_goes_only_when_the_caller_says_the_ca_does_not_use_it(store, events):
    store.delete("ca-root", allow_ca=True)
    assert _names_on_disk(store) == ["alice", "tls-1"]
    assert events[-1][:2] == ("key.delete", "ca-root")


@pytest.mark.parametrize("name", ["tls-1", "alice"])
def test_tls_and_participant_keys_can_be_deleted(store, name):
    store.delete(name)
    assert name not in _names_on_disk(store)


@pytest.mark.parametrize("name, purpose", [("ca-root", "CA"), ("tls-1", "TLS")])
def test_only_participant_keys_sign_roles(store, events, name, purpose):
    before = len(events)
    with pytest.raises(Refused) as caught:
        store.sign_role(name, "data-provider")
    assert caught.value.code == "not-a-participant-key"
    assert f"is a {purpose} key" in str(caught.value) and "participant key" in str(caught.value)
    assert len(events) == before  # no key.sign-role event for a refusal


def test_a_participant_key_signs(store, events):
    assert store.sign_role("alice", "consumer")
    assert events[-1][:2] == ("key.sign-role", "alice")
