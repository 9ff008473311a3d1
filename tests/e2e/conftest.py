"""One real sandbox daemon per behaviour, started on first use and always stopped."""

from __future__ import annotations

import pytest

from tests.e2e.e2e_support import Participant, start_sandbox


@pytest.fixture(scope="session")
def sandboxes(tmp_path_factory):
    started = {}

    def get(mode: str | None = None):
        if mode not in started:
            started[mode] = start_sandbox(tmp_path_factory.mktemp(f"sandbox-{mode or 'honest'}"), mode)[0]
        return started[mode]

    yield get
    for control in started.values():
        control.down()


@pytest.fixture
def party(tmp_path):
    participant = Participant.create(tmp_path / "participant")
    yield participant
    participant.close()
