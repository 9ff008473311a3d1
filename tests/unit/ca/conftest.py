"""Fixtures for the CA tests: a real workspace store and keystore, a settable clock, an audit recorder."""

from __future__ import annotations

import pytest

from core.ca.authority import CertificateAuthority
from core.keys.keystore import KdfParams, Keystore
from core.workspace.store import Store
from tests.unit.ca.helpers import AuditLog, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def audit() -> AuditLog:
    return AuditLog()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "workspace.sqlite") as opened:
        yield opened


@pytest.fixture
def keystore(tmp_path):
    opened = Keystore.create(tmp_path / "keystore.prism", passphrase="correct horse", kdf=KdfParams.FAST)
    yield opened
    opened.close()


@pytest.fixture
def blank_ca(store, keystore, clock, audit) -> CertificateAuthority:
    return CertificateAuthority(store, keystore, audit=audit, workspace_name="test", clock=clock)


@pytest.fixture
def ca(blank_ca, audit) -> CertificateAuthority:
    blank_ca.init()
    audit.clear()
    return blank_ca
