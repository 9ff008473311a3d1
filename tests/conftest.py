"""Session-wide test set-up: no real keyring, no real home, offscreen Qt."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import pytest
from hypothesis import HealthCheck, settings
from keyring.backend import KeyringBackend

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Fuzz tests explore new inputs on every developer run; CI replays a fixed derandomised set so a
# submission is judged on the code, not on the luck of the draw. No deadlines: the machines are shared.
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_TESTDATA = SHARED / "testdata"


class MemoryKeyring(KeyringBackend):
    """An in-memory keyring so tests never touch the developer's real one."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch, tmp_path_factory):
    """Every test gets a fresh in-memory keyring and a throwaway PRISM_HOME."""
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    monkeypatch.setenv("PRISM_HOME", str(tmp_path_factory.mktemp("prism-home")))
    yield backend
    keyring.set_keyring(previous)


def shared_testdata(*parts: str) -> Path:
    """A path under ../shared/testdata, or skip the test with the reason."""
    path = SHARED_TESTDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test corpus not present at {path} (clone outside the shared set-up)")
    return path
