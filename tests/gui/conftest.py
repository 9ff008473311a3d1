"""GUI test set-up: one qasync loop for the session, real core objects in a throwaway home.

Test bodies that need the asyncio loop are coroutines run with ``arun(...)``: the loop then drives
Qt too, so clicks, dialogs opened with ``open()``, worker-thread ops and their callbacks all run
as in the app. ``unexpected`` collects every error that reached the global handler; a test fails
at teardown if any did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.asyncio_support import cancel_pending, set_error_handler
from tests.gui.helpers import PASSPHRASE


@pytest.fixture(scope="session")
def aloop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    import qasync

    qapp.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.run_until_complete(cancel_pending())
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture
def unexpected() -> Iterator[list[BaseException]]:
    errors: list[BaseException] = []
    previous = set_error_handler(errors.append)
    yield errors
    set_error_handler(previous)
    assert not errors, f"errors reached the global handler: {errors!r}"


@pytest.fixture
def arun(aloop: asyncio.AbstractEventLoop,
         unexpected: list[BaseException]) -> Iterator[Callable[..., Any]]:
    def run(coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return aloop.run_until_complete(asyncio.wait_for(coro, timeout))

    yield run
    aloop.run_until_complete(cancel_pending())


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Any]:
    from core.workspace.manager import WorkspaceManager

    manager = WorkspaceManager(tmp_path / "home", actor="tester")
    yield manager
    manager.close()


@pytest.fixture
def session(manager: Any, aloop: Any) -> Iterator[Any]:
    from app.session import Session
    from core.keys.keystore import KdfParams

    session = Session(manager, kdf=KdfParams.FAST)
    session.open_workspace("default", create=True)
    yield session
    session.close()


@pytest.fixture
def unlocked(session: Any) -> Any:
    session.create_keystore(PASSPHRASE)
    return session
